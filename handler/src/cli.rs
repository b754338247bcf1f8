//! The `handler` command line. Without a sub-command the binary is the Azure Functions custom
//! handler (the host starts it with no arguments); `handler local` runs the whole system on one
//! machine with the tenant simulator ([`crate::local`], only in builds with the `local` feature,
//! which is on by default and left out of the Azure package).

use clap::{Parser, Subcommand};

/// Command-line arguments of `handler`.
#[derive(Debug, Parser)]
#[command(
    name = "handler",
    version,
    about = "MFA onboarding: the Azure Functions custom handler (public links, upload, admin API, timers)",
    after_help = "Without a sub-command it serves the public links, the upload and admin API and \
        the timer invocations on 127.0.0.1:$FUNCTIONS_CUSTOMHANDLER_PORT, configured by \
        environment variables (docs/configuration.md); the Functions host starts it this way."
)]
pub struct Cli {
    /// What to run instead of the custom handler.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole system on this machine: the tenant simulator with a demo organisation, the
    /// handler with the portal and a dev sign-in, and the worker every few seconds.
    #[cfg(feature = "local")]
    Local(crate::local::LocalOptions),
    /// Refused: this build has no local mode (the Azure package leaves the simulator out).
    #[cfg(not(feature = "local"))]
    #[command(hide = true, disable_help_flag = true)]
    Local {
        /// Whatever followed `local`; ignored.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<String>,
    },
}

/// What `handler local` says in a build without the `local` feature.
pub const NO_LOCAL_MODE: &str = "handler local is not in this build: it was built without the \
    `local` feature (the Azure package leaves the tenant simulator out). Run it from the \
    repository with `cargo run --release --bin handler -- local`.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sub_command_is_the_custom_handler() {
        let cli = Cli::try_parse_from(["handler"]).expect("parses");
        assert!(cli.command.is_none());
    }

    #[test]
    fn unknown_arguments_are_refused() {
        let mut cases = vec![&["handler", "--port", "1"][..], &["handler", "serve"]];
        if cfg!(feature = "local") {
            cases.push(&["handler", "local", "--colour"]);
        }
        for args in cases {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }

    #[cfg(feature = "local")]
    #[test]
    fn local_options_keep_their_names_and_defaults() {
        use std::path::PathBuf;
        use std::time::Duration;

        let Some(Command::Local(o)) = Cli::try_parse_from(["handler", "local"])
            .expect("parses")
            .command
        else {
            panic!("local expected");
        };
        assert_eq!(
            (
                o.port,
                o.people,
                o.speed,
                o.interval,
                o.upload,
                o.real_tenant
            ),
            (7071, 300, 2016.0, Duration::from_secs(5), true, false)
        );
        assert_eq!(o.data_dir, PathBuf::from(".mfa-local"));
        assert!(!o.reset);

        let Some(Command::Local(o)) = Cli::try_parse_from([
            "handler",
            "local",
            "--port",
            "8080",
            "--people",
            "20",
            "--speed",
            "1.5",
            "--interval-seconds",
            "3",
            "--no-upload",
            "--real-tenant",
            "--data-dir",
            "/tmp/mfa",
            "--reset",
        ])
        .expect("parses")
        .command
        else {
            panic!("local expected");
        };
        assert_eq!(
            (
                o.port,
                o.people,
                o.speed,
                o.interval,
                o.upload,
                o.real_tenant
            ),
            (8080, 20, 1.5, Duration::from_secs(3), false, true)
        );
        assert_eq!(o.data_dir, PathBuf::from("/tmp/mfa"));
        assert!(o.reset);
    }

    #[cfg(feature = "local")]
    #[test]
    fn reset_deletes_the_local_database_and_nothing_else() {
        let dir = tempfile::tempdir().expect("dir");
        for f in ["local.db", "local.db-wal", "keep.txt"] {
            std::fs::write(dir.path().join(f), b"x").expect("write");
        }
        let removed = crate::local::reset_data(dir.path()).expect("reset");
        assert_eq!(removed.len(), 2);
        assert!(!dir.path().join("local.db").exists());
        assert!(!dir.path().join("local.db-wal").exists());
        assert!(dir.path().join("keep.txt").exists());
        // Nothing to delete (a first start, or a missing directory): fine.
        assert!(crate::local::reset_data(dir.path())
            .expect("again")
            .is_empty());
        assert!(crate::local::reset_data(&dir.path().join("missing"))
            .expect("missing dir")
            .is_empty());
    }

    #[cfg(feature = "local")]
    #[test]
    fn bad_local_values_name_the_option() {
        for (args, option) in [
            (&["handler", "local", "--port", "x"][..], "--port"),
            (&["handler", "local", "--people", "lots"], "--people"),
            (
                &["handler", "local", "--interval-seconds", "1.5"],
                "--interval-seconds",
            ),
            (&["handler", "local", "--data-dir"], "--data-dir"),
        ] {
            let err = Cli::try_parse_from(args).expect_err("refused").to_string();
            assert!(err.contains(option), "{args:?}: {err}");
        }
    }

    #[cfg(not(feature = "local"))]
    #[test]
    fn local_is_recognised_but_refused_later() {
        let cli = Cli::try_parse_from(["handler", "local", "--port", "1"]).expect("parses");
        assert!(matches!(cli.command, Some(Command::Local { .. })));
    }
}
