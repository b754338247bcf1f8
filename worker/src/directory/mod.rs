//! Settings and helpers of the opt-in directory passes (see `docs/directory-passes.md`):
//!
//! - [`phone`]: normalising directory mobile numbers to Graph's phone method format.
//! - [`DirectorySettings`]: the pilot group, phone prepopulation and per-user MFA enforcement
//!   settings, all off by default.

pub mod phone;

use mfa_core::config::{ConfigError, Vars};
use mfa_core::domain::{ObjectId, PerUserMfa};
use phonenumber::country::Id as Region;

/// The group that limits every pass to its members (`MFA_PILOT_GROUP`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PilotGroup {
    /// By object id.
    Id(ObjectId),
    /// By exact display name (must name exactly one group).
    Name(String),
}

/// When the enforcement pass sets the per-user MFA state (`MFA_PER_USER_MFA_WHEN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnforceWhen {
    /// Once the person has registered (status Active).
    Active,
    /// Once registered, and for everyone else once their deadline (`MFA_DEADLINE`,
    /// `MFA_DEADLINE_DAYS`) has passed.
    Deadline,
}

/// Settings of the directory passes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySettings {
    /// `MFA_PILOT_GROUP`: only its transitive members are processed.
    pub pilot_group: Option<PilotGroup>,
    /// `MFA_PHONE_PREPOPULATE` (default off).
    pub phone_prepopulate: bool,
    /// `MFA_PHONE_PREPOPULATE=force`: run even when the campaign's target is above `any` (the
    /// pass would otherwise make exactly the phone-only people the target excludes).
    pub phone_force: bool,
    /// `MFA_PHONE_DEFAULT_REGION`: region for numbers without a country code.
    pub phone_default_region: Option<Region>,
    /// `MFA_PHONE_RETRY_HOURS` (default 24): when people without a usable number are looked at
    /// again.
    pub phone_retry: chrono::Duration,
    /// `MFA_PER_USER_MFA`: the state to set (`None`: the enforcement pass is off).
    pub per_user_mfa: Option<PerUserMfa>,
    /// `MFA_PER_USER_MFA_WHEN` (default `active`).
    pub per_user_mfa_when: EnforceWhen,
}

impl Default for DirectorySettings {
    fn default() -> Self {
        Self {
            pilot_group: None,
            phone_prepopulate: false,
            phone_force: false,
            phone_default_region: None,
            phone_retry: chrono::Duration::hours(24),
            per_user_mfa: None,
            per_user_mfa_when: EnforceWhen::Active,
        }
    }
}

/// `MFA_PHONE_PREPOPULATE`: a switch, or `force`.
fn switch_or_force(v: &Vars) -> Result<bool, ConfigError> {
    if v.get("MFA_PHONE_PREPOPULATE")
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("force"))
    {
        return Ok(true);
    }
    switch(v, "MFA_PHONE_PREPOPULATE")
}

fn switch(v: &Vars, name: &'static str) -> Result<bool, ConfigError> {
    v.one_of(
        name,
        false,
        &[
            ("on", true),
            ("off", false),
            ("true", true),
            ("false", false),
            ("yes", true),
            ("no", false),
            ("1", true),
            ("0", false),
        ],
    )
}

impl DirectorySettings {
    /// Reads the directory settings. `deadline_set` says whether a deadline is configured
    /// (`MFA_PER_USER_MFA_WHEN=deadline` needs one).
    pub fn from_vars(v: &Vars, deadline_set: bool) -> Result<Self, ConfigError> {
        let pilot_group = v.get("MFA_PILOT_GROUP").map(|s| {
            let s = s.trim();
            ObjectId::parse(s).map_or_else(|_| PilotGroup::Name(s.to_string()), PilotGroup::Id)
        });
        let phone_default_region = v
            .get("MFA_PHONE_DEFAULT_REGION")
            .map(|s| {
                phone::parse_region(s).ok_or_else(|| {
                    ConfigError::new(
                        "MFA_PHONE_DEFAULT_REGION",
                        format!("expected a two-letter region code like NO or GB, got {s:?}"),
                    )
                })
            })
            .transpose()?;
        let phone_retry = match v.get("MFA_PHONE_RETRY_HOURS") {
            None => chrono::Duration::hours(24),
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|h| (1..=8760).contains(h))
                .map(chrono::Duration::hours)
                .ok_or_else(|| {
                    ConfigError::new(
                        "MFA_PHONE_RETRY_HOURS",
                        format!("expected a whole number of hours in 1..=8760, got {s:?}"),
                    )
                })?,
        };
        let per_user_mfa = v.one_of(
            "MFA_PER_USER_MFA",
            None,
            &[
                ("off", None),
                ("enabled", Some(PerUserMfa::Enabled)),
                ("enforced", Some(PerUserMfa::Enforced)),
            ],
        )?;
        let per_user_mfa_when = v.one_of(
            "MFA_PER_USER_MFA_WHEN",
            EnforceWhen::Active,
            &[
                ("active", EnforceWhen::Active),
                ("deadline", EnforceWhen::Deadline),
            ],
        )?;
        if per_user_mfa_when == EnforceWhen::Deadline && !deadline_set {
            return Err(ConfigError::new(
                "MFA_PER_USER_MFA_WHEN",
                "deadline needs MFA_DEADLINE or MFA_DEADLINE_DAYS",
            ));
        }
        Ok(Self {
            pilot_group,
            phone_prepopulate: switch_or_force(v)?,
            phone_force: v
                .get("MFA_PHONE_PREPOPULATE")
                .is_some_and(|s| s.trim().eq_ignore_ascii_case("force")),
            phone_default_region,
            phone_retry,
            per_user_mfa,
            per_user_mfa_when,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_off() {
        let s = DirectorySettings::from_vars(&Vars::default(), false).expect("defaults");
        assert_eq!(s, DirectorySettings::default());
    }

    #[test]
    fn values_and_errors() {
        let s = DirectorySettings::from_vars(
            &Vars::from_pairs([
                ("MFA_PILOT_GROUP", "MFA Pilot"),
                ("MFA_PHONE_PREPOPULATE", "on"),
                ("MFA_PHONE_DEFAULT_REGION", "no"),
                ("MFA_PER_USER_MFA", "enforced"),
                ("MFA_PER_USER_MFA_WHEN", "deadline"),
            ]),
            true,
        )
        .expect("settings");
        assert_eq!(s.pilot_group, Some(PilotGroup::Name("MFA Pilot".into())));
        assert!(s.phone_prepopulate);
        assert_eq!(s.phone_default_region, phone::parse_region("NO"));
        assert_eq!(s.per_user_mfa, Some(PerUserMfa::Enforced));
        assert_eq!(s.per_user_mfa_when, EnforceWhen::Deadline);
        let id = "4f7c2a8e-1b3d-4e5f-8a9b-0c1d2e3f4a5b";
        let s = DirectorySettings::from_vars(&Vars::from_pairs([("MFA_PILOT_GROUP", id)]), false)
            .expect("id");
        assert!(matches!(s.pilot_group, Some(PilotGroup::Id(_))));
        for (var, value) in [
            ("MFA_PHONE_PREPOPULATE", "sometimes"),
            ("MFA_PHONE_DEFAULT_REGION", "Norway"),
            ("MFA_PHONE_RETRY_HOURS", "0"),
            ("MFA_PER_USER_MFA", "disabled"),
            ("MFA_PER_USER_MFA_WHEN", "tomorrow"),
            ("MFA_PER_USER_MFA_WHEN", "deadline"),
        ] {
            let err = DirectorySettings::from_vars(&Vars::from_pairs([(var, value)]), false)
                .expect_err(var);
            assert_eq!(err.variable, var, "{value}");
        }
    }
}
