//! Seeding a realistic demo organisation: manager chains, departments, phone numbers in mixed
//! formats, ~10% already registered with varied methods, two disabled accounts, a Conditional
//! Access group, a sender mailbox and a SharePoint site.

use crate::state::{MethodKind, NewUser};
use crate::tenant::{SimError, Tenant};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const GIVEN: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Linus",
    "Radia",
    "Dennis",
    "Sophie",
    "Tim",
    "Hedy",
    "John",
    "Katherine",
    "Niklaus",
    "Ingrid",
    "Ola",
];
const FAMILY: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Torvalds",
    "Perlman",
    "Ritchie",
    "Wilson",
    "Berners-Lee",
    "Lamarr",
    "Backus",
    "Johnson",
    "Wirth",
    "Nordmann",
    "Hansen",
];
const DEPARTMENTS: &[&str] = &[
    "Finance",
    "Engineering",
    "Sales",
    "Operations",
    "Human Resources",
    "Legal",
    "Support",
];
const METHODS: &[MethodKind] = &[
    MethodKind::MicrosoftAuthenticator,
    MethodKind::Phone,
    MethodKind::SoftwareOath,
    MethodKind::Fido2,
    MethodKind::WindowsHelloForBusiness,
];

/// What [`Tenant::seed_demo`] created.
#[derive(Debug, Clone, Default)]
pub struct DemoOrg {
    /// UPNs of every person, in creation order (managers first).
    pub people: Vec<String>,
    /// UPNs of people who manage someone.
    pub managers: Vec<String>,
    /// UPNs already registered for MFA.
    pub registered: Vec<String>,
    /// UPNs of disabled accounts.
    pub disabled: Vec<String>,
    /// Id of the Conditional Access group.
    pub group_id: String,
    /// Id of the pilot group "MFA Pilot": the first department head directly, plus the nested
    /// group "MFA Pilot - IT" holding the next two people.
    pub pilot_group_id: String,
    /// The sender mailbox UPN.
    pub sender_mailbox: String,
    /// Graph id of the SharePoint site.
    pub site_id: String,
}

fn phone(rng: &mut StdRng) -> Option<String> {
    let n: u32 = rng.gen_range(1_000_000..9_999_999);
    Some(match rng.gen_range(0..8) {
        0 => format!("+47 9{n}"),
        1 => format!("+44 7700 {}", n % 1_000_000),
        2 => format!("07700 {}", n % 1_000_000),
        3 => format!("(425) 555-{:04}", n % 10_000),
        4 => format!("+1 425-555-{:04}", n % 10_000),
        5 => format!("+49 151 {n}"),
        _ => return None,
    })
}

impl Tenant {
    /// Creates `n_people` people (at least 2) in a realistic org, deterministically for `seed`.
    pub fn seed_demo(&self, n_people: usize, seed: u64) -> Result<DemoOrg, SimError> {
        let mut rng = StdRng::seed_from_u64(seed);
        let domain = self.domain();
        let mut org = DemoOrg {
            sender_mailbox: format!("mfa-onboarding@{domain}"),
            ..DemoOrg::default()
        };
        self.add_mailbox(&org.sender_mailbox)?;
        org.group_id = self.add_group("MFA Rollout - Conditional Access").id;
        org.site_id = self.add_site("mfa");
        let n = n_people.max(2);
        let heads = (n / 15).clamp(1, DEPARTMENTS.len());
        for i in 0..n {
            let given = GIVEN[rng.gen_range(0..GIVEN.len())];
            let family = FAMILY[rng.gen_range(0..FAMILY.len())];
            let upn = format!(
                "{}.{}{i}@{domain}",
                given.to_lowercase(),
                family.to_lowercase().replace('-', "")
            );
            let (manager, dept, title) = if i == 0 {
                (None, "Executive", "Chief Executive Officer")
            } else if i <= heads {
                (
                    org.people.first().cloned(),
                    DEPARTMENTS[(i - 1) % DEPARTMENTS.len()],
                    "Head of Department",
                )
            } else {
                let lead = 1 + rng.gen_range(0..heads.min(org.people.len() - 1).max(1));
                let d = DEPARTMENTS[(lead - 1) % DEPARTMENTS.len()];
                (org.people.get(lead).cloned(), d, "Specialist")
            };
            let mut new = NewUser::upn(&upn);
            new.display_name = Some(format!("{given} {family}"));
            new.department = Some(dept.to_string());
            new.job_title = Some(title.to_string());
            new.mobile_phone = phone(&mut rng);
            new.manager = manager.clone();
            self.add_user(new)?;
            if let Some(m) = manager {
                if !org.managers.contains(&m) {
                    org.managers.push(m);
                }
            }
            org.people.push(upn);
        }
        let pilot = self.add_group("MFA Pilot");
        let pilot_it = self.add_group("MFA Pilot - IT");
        self.nest_group(&pilot.id, &pilot_it.id)?;
        for (i, upn) in org.people.iter().enumerate().skip(1).take(3) {
            let g = if i == 1 { &pilot.id } else { &pilot_it.id };
            self.add_group_member(g, upn)?;
        }
        org.pilot_group_id = pilot.id;
        for upn in org.people.iter().skip(1) {
            if rng.gen_bool(0.10) {
                let kind = METHODS[rng.gen_range(0..METHODS.len())];
                self.register_mfa(upn, kind)?;
                org.registered.push(upn.clone());
            }
        }
        for upn in org
            .people
            .iter()
            .rev()
            .filter(|u| !org.registered.contains(u))
            .take(2)
        {
            self.set_account_enabled(upn, false)?;
            org.disabled.push(upn.clone());
        }
        Ok(org)
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn demo_org_is_deterministic_and_shaped() {
        let sim = crate::Simulator::start(crate::SimConfig::default())
            .await
            .unwrap();
        let org = sim.tenant().seed_demo(200, 7).unwrap();
        assert_eq!(org.people.len(), 200);
        assert_eq!(org.disabled.len(), 2);
        assert!(
            (5..=40).contains(&org.registered.len()),
            "{}",
            org.registered.len()
        );
        assert!(org.managers.len() > 1);
        let pilot = sim
            .tenant()
            .transitive_members(&org.pilot_group_id)
            .unwrap();
        assert_eq!(
            pilot.len(),
            3,
            "one direct member and two through the nested group"
        );
        let sim2 = crate::Simulator::start(crate::SimConfig::default())
            .await
            .unwrap();
        assert_eq!(sim2.tenant().seed_demo(200, 7).unwrap().people, org.people);
        sim.shutdown().await;
    }
}
