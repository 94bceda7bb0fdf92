//! A real one-node Slurm cluster for the tests: Debian's `slurm-wlm` and `munge` (installed with
//! apt-get when absent, as root), a `munged` with its own key and socket, and `slurmctld` and
//! `slurmd` with their own config, ports, state and logs, all in a temporary folder; stopped when
//! dropped. `ProctrackType=proctrack/linuxproc` and `TaskPlugin=task/none`, so no cgroups are
//! needed.
#![allow(dead_code)]

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The partition the cluster has.
pub const PARTITION: &str = "tunesmith";

const DAEMONS: [&str; 3] = [
    "/usr/sbin/munged",
    "/usr/sbin/slurmctld",
    "/usr/sbin/slurmd",
];
const CLIENTS: [&str; 4] = ["sbatch", "scontrol", "squeue", "sinfo"];

/// A running one-node cluster.
pub struct Cluster {
    dir: tempfile::TempDir,
    /// Its `slurm.conf` (clients find it through `SLURM_CONF`).
    pub conf: PathBuf,
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|p| p.join(program).is_file()))
        .unwrap_or(false)
}

fn installed() -> bool {
    DAEMONS.iter().all(|d| Path::new(d).is_file()) && CLIENTS.iter().all(|c| on_path(c))
}

fn run(command: &mut Command) -> Result<Output> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

/// Installs `slurm-wlm` and `munge` with apt-get (as root), updating the lists once if needed.
fn install() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "Slurm is not installed and only root can install it (apt-get install slurm-wlm munge)"
        );
    }
    if !on_path("apt-get") {
        bail!("Slurm is not installed and there is no apt-get to install it with");
    }
    let install = || {
        run(Command::new("apt-get")
            .args([
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "slurm-wlm",
                "munge",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    if install().is_err() {
        run(Command::new("apt-get").args(["update", "-q"]))?;
        install()?;
    }
    if !installed() {
        bail!("apt-get installed slurm-wlm and munge, but the daemons or clients are missing");
    }
    Ok(())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

impl Cluster {
    /// Installs Slurm when absent and starts the cluster; the error says why it cannot.
    pub fn start() -> Result<Cluster> {
        if !installed() {
            install()?;
        }
        let dir = tempfile::Builder::new().prefix("slurm-").tempdir()?;
        let d = dir.path();
        for sub in ["munge", "state", "spool", "log"] {
            std::fs::create_dir(d.join(sub))?;
        }
        let mut key = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(std::fs::File::open("/dev/urandom")?, 128),
            &mut key,
        )?;
        std::fs::write(d.join("munge/munge.key"), key)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            d.join("munge/munge.key"),
            std::fs::Permissions::from_mode(0o600),
        )?;
        let socket = d.join("munge/munge.socket");
        let mut munged = Command::new(DAEMONS[0]);
        munged
            .arg("--force")
            .arg(format!("--socket={}", socket.display()));
        for (option, file) in [
            ("key-file", "munge.key"),
            ("log-file", "munged.log"),
            ("pid-file", "munged.pid"),
            ("seed-file", "munged.seed"),
        ] {
            munged.arg(format!(
                "--{option}={}",
                d.join("munge").join(file).display()
            ));
        }
        run(munged.stdout(Stdio::null()).stderr(Stdio::null())).context("cannot start munged")?;
        let host = host_name();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let conf = d.join("slurm.conf");
        let p = |sub: &str| d.join(sub).display().to_string();
        let text = format!(
            "ClusterName=tunesmith\n\
             SlurmctldHost={host}(127.0.0.1)\n\
             SlurmctldPort={ctld_port}\n\
             SlurmdPort={d_port}\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             AuthType=auth/munge\n\
             CredType=cred/munge\n\
             AuthInfo=socket={socket}\n\
             StateSaveLocation={state}\n\
             SlurmdSpoolDir={spool}\n\
             SlurmctldPidFile={ctld_pid}\n\
             SlurmdPidFile={d_pid}\n\
             SlurmctldLogFile={ctld_log}\n\
             SlurmdLogFile={d_log}\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\n\
             SchedulerType=sched/backfill\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\n\
             ReturnToService=2\n\
             MpiDefault=none\n\
             KillWait=20\n\
             NodeName=tsnode NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=2000 State=UNKNOWN\n\
             PartitionName={PARTITION} Nodes=tsnode Default=YES MaxTime=INFINITE State=UP\n",
            ctld_port = free_port()?,
            d_port = free_port()?,
            socket = socket.display(),
            state = p("state"),
            spool = p("spool"),
            ctld_pid = p("slurmctld.pid"),
            d_pid = p("slurmd.pid"),
            ctld_log = p("log/slurmctld.log"),
            d_log = p("log/slurmd.log"),
        );
        std::fs::write(&conf, text)?;
        let cluster = Cluster { dir, conf };
        run(Command::new(DAEMONS[1])
            .arg("-f")
            .arg(&cluster.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null()))
        .context("cannot start slurmctld")?;
        run(Command::new(DAEMONS[2])
            .arg("-f")
            .arg(&cluster.conf)
            .args(["-N", "tsnode"])
            .stdout(Stdio::null())
            .stderr(Stdio::null()))
        .context("cannot start slurmd")?;
        cluster.wait_for_idle_node()?;
        Ok(cluster)
    }

    fn wait_for_idle_node(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let state = self
                .output(self.command("sinfo").args(["-h", "-o", "%T"]))
                .unwrap_or_default();
            if state.trim() == "idle" {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "the node is not idle after 60 s (sinfo: {:?}); {}",
                    state.trim(),
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// A Slurm client command that talks to this cluster.
    pub fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", &self.conf);
        command
    }

    /// Runs a client command; its standard output, or an error with its output.
    pub fn output(&self, command: &mut Command) -> Result<String> {
        Ok(String::from_utf8_lossy(&run(command)?.stdout).into_owned())
    }

    /// The state of a job (`PENDING`, `RUNNING`, …; empty when it left the queue).
    pub fn job_state(&self, job: &str) -> String {
        self.output(self.command("squeue").args(["-h", "-o", "%T", "-j", job]))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    /// The last lines of the daemons' logs, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for log in ["log/slurmctld.log", "log/slurmd.log", "munge/munged.log"] {
            let text = std::fs::read_to_string(self.dir.path().join(log)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!(
                "\n--- {log}:\n{}",
                lines[lines.len().saturating_sub(15)..].join("\n")
            ));
        }
        out
    }

    fn pid(&self, file: &str) -> Option<i32> {
        std::fs::read_to_string(self.dir.path().join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Cancel what is left, stop the daemons this cluster started (by their pid files), then
        // make sure they are gone.
        for (program, arg) in [("scancel", "--user=root"), ("scontrol", "shutdown")] {
            let _ = self
                .command(program)
                .arg(arg)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let pids: Vec<i32> = ["slurmd.pid", "slurmctld.pid", "munge/munged.pid"]
            .iter()
            .filter_map(|f| self.pid(f))
            .collect();
        let alive = |pid: i32| -> bool {
            // SAFETY: signal 0 only checks the process exists.
            let exists = unsafe { libc::kill(pid, 0) } == 0;
            let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ");
            exists && !zombie
        };
        for &pid in &pids {
            if alive(pid) {
                // SAFETY: kill(2) on a daemon this cluster started.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while pids.iter().any(|&p| alive(p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        for &pid in &pids {
            if alive(pid) {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}
