//! `host.json` and `functions/*/function.json` declare what the handler serves (SPEC §3).

use serde_json::Value;

fn read(path: &str) -> Value {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn host_json_forwards_http_to_the_handler() {
    let host = read("host.json");
    assert_eq!(host["version"], "2.0");
    assert_eq!(
        host["customHandler"]["description"]["defaultExecutablePath"],
        "handler"
    );
    assert_eq!(host["customHandler"]["enableForwardingHttpRequest"], true);
    assert_eq!(host["extensions"]["http"]["routePrefix"], "api");
}

#[test]
fn every_function_is_declared_with_its_trigger() {
    let http = [
        ("upload-users", "upload-users", vec!["post"]),
        ("enrol", "enrol", vec!["get", "post"]),
        ("track-open", "track-open", vec!["get"]),
        ("resend", "resend", vec!["get", "post"]),
        ("admin", "admin/{*path}", vec!["get", "post", "options"]),
    ];
    for (name, route, methods) in http {
        let f = read(&format!("functions/{name}/function.json"));
        let bindings = f["bindings"].as_array().unwrap();
        assert_eq!(
            bindings.len(),
            2,
            "{name}: one httpTrigger in, one http out"
        );
        let trigger = &bindings[0];
        assert_eq!(trigger["type"], "httpTrigger");
        assert_eq!(trigger["authLevel"], "anonymous");
        assert_eq!(trigger["route"], route);
        for m in methods {
            assert!(
                trigger["methods"]
                    .as_array()
                    .unwrap()
                    .contains(&Value::from(m)),
                "{name} {m}"
            );
        }
        assert_eq!(bindings[1]["type"], "http");
        assert_eq!(bindings[1]["name"], "res");
    }
    for (name, schedule) in [
        ("orchestrator-timer", "0 */15 * * * *"),
        ("reports-timer", "0 0 7 * * *"),
    ] {
        let f = read(&format!("functions/{name}/function.json"));
        let t = &f["bindings"][0];
        assert_eq!(t["type"], "timerTrigger");
        assert_eq!(t["name"], "timer");
        assert_eq!(t["schedule"], schedule);
        assert_ne!(t["runOnStartup"], true);
    }
}
