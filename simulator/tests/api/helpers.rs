//! Test helpers: start a simulator, get a token, call Graph.
#![allow(dead_code)] // not every test module uses every helper

use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use tenant_sim::{SimConfig, Simulator, Tenant};

pub struct TestSim {
    pub sim: Simulator,
    pub http: reqwest::Client,
    pub token: String,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

pub async fn spawn(config: SimConfig) -> TestSim {
    let sim = Simulator::start(config).await.expect("simulator starts");
    let http = reqwest::Client::new();
    let (id, secret) = sim.client_credentials();
    let token = client_token(&http, &sim, &id, &secret).await.1["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    TestSim { sim, http, token }
}

pub async fn spawn_default() -> TestSim {
    spawn(SimConfig::default()).await
}

pub async fn client_token(
    http: &reqwest::Client,
    sim: &Simulator,
    id: &str,
    secret: &str,
) -> (u16, Value) {
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        sim.authority_host(),
        sim.tenant_id()
    );
    let r = http
        .post(url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

impl TestSim {
    pub fn tenant(&self) -> Tenant {
        self.sim.tenant()
    }

    /// Moves the simulated clock and fetches a fresh token (the old one may have expired).
    pub async fn advance(&mut self, secs: u64) {
        self.sim
            .clock()
            .advance(std::time::Duration::from_secs(secs));
        let (id, secret) = self.sim.client_credentials();
        self.token = client_token(&self.http, &self.sim, &id, &secret).await.1["access_token"]
            .as_str()
            .expect("token")
            .to_string();
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.sim.base_url(), path)
        }
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let r = rb.send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            headers,
        }
    }

    /// A page of the control API as a browser gets it: status and text.
    pub async fn html(&self, path_and_query: &str) -> (u16, String) {
        let r = self
            .http
            .get(self.url(path_and_query))
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        (status, r.text().await.expect("text"))
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(self.http.get(self.url(path)).bearer_auth(&self.token))
            .await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut rb = self.http.get(self.url(path)).bearer_auth(&self.token);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.send(rb).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(&self.token)
                .json(&body),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: Value, headers: &[(&str, &str)]) -> Resp {
        let mut rb = self
            .http
            .patch(self.url(path))
            .bearer_auth(&self.token)
            .json(&body);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.send(rb).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(self.http.delete(self.url(path)).bearer_auth(&self.token))
            .await
    }
}

pub fn mail_body(to: &[&str], subject: &str) -> Value {
    let to: Vec<Value> = to
        .iter()
        .map(|a| json!({"emailAddress": {"address": a}}))
        .collect();
    json!({"message": {"subject": subject, "body": {"contentType": "HTML", "content": "<p>Hello <a href=\"https://x.example/enrol?token=abc\">go</a></p>"},
           "toRecipients": to, "internetMessageHeaders": [{"name": "x-mfa-token", "value": "abc"}]},
           "saveToSentItems": false})
}

pub fn assert_graph_error(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "status; body {}", r.body);
    assert_eq!(r.code(), code, "code; body {}", r.body);
    let inner = &r.body["error"]["innerError"];
    assert!(
        inner["request-id"].is_string(),
        "innerError.request-id in {}",
        r.body
    );
    assert!(inner["date"].is_string(), "innerError.date in {}", r.body);
    assert!(r.body["error"]["message"].is_string());
}
