//! A real dockerd for a test, inside a network namespace the test makes: the test's own traffic
//! (the devnet, the agent, the customer's client) runs inside the namespace too, so published
//! ports answer at 127.0.0.1 there and nothing reaches any other network.
//!
//! Where Docker cannot be had (not root, no dockerd) the harness fails saying why and how to get
//! it (`scripts/system-packages.sh docker`), never skipping silently.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)] // test support code

use std::{
    os::fd::AsRawFd,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

/// A network namespace with a dockerd of its own; both go when it is dropped.
#[derive(Debug)]
pub struct DockerNetns {
    /// The namespace's name (`snm-<pid>-<n>`).
    pub name: String,
    /// The scratch directory: socket, data root, exec root, pid file, log.
    pub dir: PathBuf,
    dockerd: std::process::Child,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`{program} {}` cannot run: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Runs `ip` with `args`, panicking with its error.
pub fn ip(args: &[&str]) {
    run("ip", args).unwrap();
}

/// The output of `command` run inside the namespace `name` (`nsenter`).
pub fn ip_output(name: &str, command: &[&str]) -> String {
    let netns = format!("--net=/run/netns/{name}");
    let mut args = vec![netns.as_str()];
    args.extend_from_slice(command);
    run("nsenter", &args).unwrap()
}

/// Panics, saying why, when this machine cannot run the Docker tests.
fn require_docker() {
    const HOW: &str = "run `scripts/system-packages.sh docker` as root (`make test` does)";
    assert!(
        nix::unistd::geteuid().is_root(),
        "the Docker runtime tests need root (to make a network namespace and run dockerd in it); {HOW}"
    );
    for program in ["dockerd", "docker", "ip", "nsenter"] {
        assert!(
            run("sh", &["-c", &format!("command -v {program}")]).is_ok(),
            "the Docker runtime tests need `{program}`, which is not installed: {HOW}"
        );
    }
    assert!(
        Path::new("/bin/busybox").is_file(),
        "the test images are made of /bin/busybox (busybox-static): {HOW}"
    );
}

impl DockerNetns {
    /// Makes the namespace (loopback up) and starts dockerd in it; waits until it answers.
    pub fn start() -> Self {
        require_docker();
        let name = format!("snm-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        // Short: the socket path must fit a sockaddr_un.
        let dir = PathBuf::from(format!("/tmp/{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        run("ip", &["netns", "add", &name]).unwrap();
        run("ip", &["-n", &name, "link", "set", "lo", "up"]).unwrap();
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let path = |part: &str| dir.join(part).display().to_string();
        // nsenter, not `ip netns exec`: that remounts /sys and hides the cgroups dockerd needs.
        let dockerd = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{name}"))
            .args(["dockerd", "--host", &format!("unix://{}", path("docker.sock"))])
            .args(["--data-root", &path("root"), "--exec-root", &path("exec")])
            .args(["--pidfile", &path("docker.pid")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let netns = Self { name, dir, dockerd };
        let start = Instant::now();
        while netns.docker(&["version", "--format", "{{.Server.Version}}"]).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "dockerd did not answer within 60 s; its log:\n{}",
                std::fs::read_to_string(netns.dir.join("dockerd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        netns
    }

    /// The Engine's address, as `DOCKER_HOST` and the agent's configuration take it.
    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.join("docker.sock").display())
    }

    /// The docker CLI against this dockerd: its output, or why it failed.
    pub fn docker(&self, args: &[&str]) -> Result<String, String> {
        let host = self.host();
        let mut all = vec!["-H", host.as_str()];
        all.extend_from_slice(args);
        run("docker", &all)
    }

    /// Imports an image made of the static busybox (with links for `sh`, `cat`, `nc`, `sleep`),
    /// running `cmd`.
    pub fn busybox_image(&self, tag: &str, cmd: &[&str]) {
        let root = self.dir.join(format!("image-{}", tag.replace([':', '/'], "-")));
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
        for link in ["sh", "cat", "nc", "sleep"] {
            let _ = std::fs::remove_file(root.join("bin").join(link));
            std::os::unix::fs::symlink("busybox", root.join("bin").join(link)).unwrap();
        }
        let tarball = root.with_extension("tar");
        run("tar", &["-C", &root.display().to_string(), "-cf", &tarball.display().to_string(), "."]).unwrap();
        let change = format!("CMD {}", serde_json::to_string(cmd).unwrap());
        self.docker(&["import", "-c", &change, &tarball.display().to_string(), tag]).unwrap();
    }

    /// Runs `body` on a thread inside the namespace with a runtime of its own: what it starts
    /// (anvil, the agent, sockets) is inside too.
    pub fn enter<T: Send>(&self, body: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|scope| {
            scope
                .spawn(move || {
                    let file = std::fs::File::open(&path).unwrap();
                    nix::sched::setns(file.as_raw_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                    body()
                })
                .join()
                .unwrap()
        })
    }
}

impl Drop for DockerNetns {
    fn drop(&mut self) {
        // dockerd stops its containers and unmounts their layers on SIGTERM.
        let pid = nix::unistd::Pid::from_raw(self.dockerd.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let start = Instant::now();
        while self.dockerd.try_wait().ok().flatten().is_none() {
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.dockerd.kill();
                let _ = self.dockerd.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = run("ip", &["netns", "delete", &self.name]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
