//! [`DockerRuntime`]: each deal's workload is a container, driven through the Docker Engine API
//! (over its Unix socket, with `bollard`).
//!
//! Per deal the runtime makes sure the bid's image is on the machine (pulled, with the
//! configuration's registry credentials, when it is not), creates a container limited to the
//! deal's resources (CPU as `NanoCpus`, memory as `Memory`, GPUs as a device request), publishes
//! its port on the worker's IP, labels it with the market, the deal and the master
//! ([`LABEL_MARKET`], [`LABEL_DEAL`], [`LABEL_MASTER`]), starts it and checks that it stays up and
//! its port answers. Its traffic is the sum of the bytes received and sent over its interfaces in
//! the Engine's stats, sampled at each look and once more before it is removed, and saved in a
//! [`Meter`] file so that nothing is lost or counted twice across agent restarts.
//!
//! A container that exits by itself is started again, up to `restarts` times; the next exit makes
//! [`is_running`](Runtime::is_running) answer no and any new start fail with
//! [`RuntimeError::CrashLoop`], so the agent reports it and ends the deal as unserved (or, with
//! `close_on_crash = false`, keeps it open, marked crashed, and starts nothing more). A start
//! finding the deal's container by its labels adopts it rather than run a second one.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr, TcpListener},
    path::PathBuf,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use alloy::primitives::Address;
use bollard::{
    API_DEFAULT_VERSION, Docker,
    auth::DockerCredentials,
    models::{
        ContainerCreateBody, ContainerInspectResponse, ContainerSummary, DeviceRequest, HostConfig,
        NetworkCreateRequest, PortBinding,
    },
    query_parameters::{
        CreateContainerOptions, CreateImageOptions, ListContainersOptions, LogsOptions,
        RemoveContainerOptions, StatsOptions, StopContainerOptions,
    },
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use snm_sdk::market::DealId;

use snm_sdk::workload_config::{CONFIG_ENDPOINT_SCHEME, WorkloadConfig};

use super::{ConfigInbox, Meter, Runtime, RuntimeError, Usage, Workload, WorkloadSpec};

/// The label naming the market a container serves.
pub const LABEL_MARKET: &str = "io.snm.market";
/// The label naming the deal a container serves.
pub const LABEL_DEAL: &str = "io.snm.deal";
/// The label naming the supplier's master account.
pub const LABEL_MASTER: &str = "io.snm.master";

/// Where a deal's state directory is mounted in its containers (also given as `SNM_STATE_DIR`).
pub const STATE_MOUNT: &str = "/snm-state";

/// The most of a container's log read for its certificate fingerprint: a workload prints it once
/// at its start (as `snm-proxy` does).
const LOG_SCAN_MAX: usize = 4 << 20;

/// Credentials for a private registry the bids' images are pulled from.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryAuth {
    /// The registry's address (for example `ghcr.io`).
    pub server: String,
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("server", &self.server)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// How a [`DockerRuntime`] runs containers (the `[runtime.docker]` table of the agent's
/// configuration).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DockerConfig {
    /// The Engine's socket (`unix:///var/run/docker.sock`); `None`: `DOCKER_HOST`, else the
    /// default socket.
    pub host: Option<String>,
    /// The container port the workload serves on, published on the worker's IP.
    pub port: u16,
    /// How often a container that exits by itself is started again before it is reported.
    pub restarts: u32,
    /// Whether the exit after the last restart ends the deal (reported as a crash loop, and the
    /// agent ends the deal as unserved at once); `false`: the exit after the last restart is
    /// reported the same way, but the deal stays open (marked crashed, its bytes kept) until its
    /// customer or its term closes it, and nothing is started for it again.
    pub close_on_crash: bool,
    /// The Docker network the containers join (made by [`DockerRuntime::connect`] when missing,
    /// with traffic between containers off, its bridge interface named like it); `None`: Docker's
    /// default bridge.
    pub network: Option<String>,
    /// Whether the containers are kept off the supplier's network (see [`isolation`](super::isolation));
    /// needs `network`.
    pub isolate: bool,
    /// Whether an image missing on the machine is pulled.
    pub pull: bool,
    /// Credentials for pulls from a private registry.
    pub registry_auth: Option<RegistryAuth>,
    /// How long a new container must stay up for its start to count.
    pub startup_grace: Duration,
    /// How long a start waits for the container's port to answer.
    pub ready_timeout: Duration,
    /// How long a stop waits after SIGTERM before the Engine kills the container.
    pub stop_timeout: Duration,
    /// Where customers post their deals' configurations ([`ConfigInbox`]); `None`: configurations
    /// are not delivered, the container gets only `SNM_CONFIG_HASH`.
    pub config_listen: Option<SocketAddr>,
}

impl Default for DockerConfig {
    fn default() -> Self {
        Self {
            host: None,
            port: 3128,
            restarts: 3,
            close_on_crash: true,
            network: Some("snm-deals".into()),
            isolate: true,
            pull: true,
            registry_auth: None,
            startup_grace: Duration::from_millis(500),
            ready_timeout: Duration::from_secs(30),
            stop_timeout: Duration::from_secs(5),
            config_listen: None,
        }
    }
}

/// Runs each deal's workload as a Docker container: see [`DockerConfig`] and `docs/DOCKER_RUNTIME.md`.
#[derive(Debug)]
pub struct DockerRuntime {
    docker: Docker,
    inbox: Option<ConfigInbox>,
    config: DockerConfig,
    market: Address,
    root: PathBuf,
}

impl DockerRuntime {
    /// Connects to the Engine (negotiating the API version it speaks), makes the configured
    /// network when it is missing, and keeps meters under `root`. Fails when the Engine cannot be
    /// reached, so that an agent which could run no container takes no deal.
    pub async fn connect(
        config: DockerConfig,
        market: Address,
        root: impl Into<PathBuf>,
    ) -> Result<Self, RuntimeError> {
        let engine = |doing: &str| {
            let doing = doing.to_owned();
            move |source| RuntimeError::Docker { doing, source }
        };
        let host = config
            .host
            .clone()
            .or_else(|| std::env::var("DOCKER_HOST").ok())
            .unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
        let docker = Docker::connect_with_unix(&host, 120, API_DEFAULT_VERSION)
            .map_err(engine(&format!("connecting to {host}")))?
            .negotiate_version()
            .await
            .map_err(engine(&format!("reaching the Engine at {host}")))?;
        docker.ping().await.map_err(engine(&format!("reaching the Engine at {host}")))?;
        if config.isolate && config.network.is_none() {
            return Err(RuntimeError::DockerConfig(
                "`isolate` needs a `network` of the agent's own (for example `snm-deals`)".into(),
            ));
        }
        if let Some(network) = config.network.as_ref().filter(|n| n.is_empty() || n.len() > 15) {
            return Err(RuntimeError::DockerConfig(format!(
                "`network` `{network}` must be 1 to 15 characters: it names the bridge interface too"
            )));
        }
        if let Some(network) = &config.network
            && docker
                .inspect_network(network, None::<bollard::query_parameters::InspectNetworkOptions>)
                .await
                .is_err()
        {
            let options = HashMap::from([
                // Containers of different deals must not reach each other.
                ("com.docker.network.bridge.enable_icc".to_owned(), "false".to_owned()),
                // A known interface name, which the isolation rules match.
                ("com.docker.network.bridge.name".to_owned(), network.clone()),
            ]);
            let request = NetworkCreateRequest {
                name: network.clone(),
                driver: Some("bridge".into()),
                options: Some(options),
                labels: Some(HashMap::from([(LABEL_MARKET.to_owned(), market.to_string())])),
                ..Default::default()
            };
            docker.create_network(request).await.map_err(engine(&format!("creating network {network}")))?;
        }
        if config.isolate
            && let Some(network) = &config.network
        {
            super::isolation::install(network)?;
        }
        let root = root.into();
        let inbox = match config.config_listen {
            Some(listen) => Some(ConfigInbox::bind(listen, market, root.clone()).await?),
            None => None,
        };
        Ok(Self { docker, inbox, config, market, root })
    }

    /// The Engine client (for tests and tools that read containers back).
    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The container name of a deal: one per market and deal.
    pub fn container_name(&self, deal: DealId) -> String {
        format!("snm-{}-deal-{deal}", &self.market.to_string()[2..10].to_lowercase())
    }

    /// Where customers post configurations, when the runtime takes them.
    pub fn config_inbox(&self) -> Option<&ConfigInbox> {
        self.inbox.as_ref()
    }

    /// The deal's delivered configuration: `None` when the runtime takes none or the customer
    /// declared none (a zero `configHash`); [`RuntimeError::ConfigPending`] while it has not
    /// come.
    fn workload_config(&self, spec: &WorkloadSpec) -> Result<Option<WorkloadConfig>, RuntimeError> {
        let Some(inbox) = &self.inbox else { return Ok(None) };
        if spec.config_hash.is_zero() {
            return Ok(None);
        }
        let deal = spec.deal_id;
        match inbox.delivered(deal, spec.customer, spec.config_hash)? {
            Some(signed) => Ok(Some(signed.config)),
            None => {
                let key = inbox.expect(deal, spec.customer, spec.config_hash)?;
                let port = inbox.address().port();
                let url = format!(
                    "{CONFIG_ENDPOINT_SCHEME}{}/deals/{deal}/config{}",
                    SocketAddr::new(spec.ip, port),
                    key.fragment()
                );
                Err(RuntimeError::ConfigPending { deal, url })
            }
        }
    }

    /// Whether the container exited more often than it may be restarted: its deal is to end.
    fn crashed(&self, meter: &Meter) -> bool {
        meter.exits > self.config.restarts
    }

    /// The deal's state directory on the machine (made when missing, absolute for the Engine),
    /// mounted into its containers: what a workload keeps there (a proxy's certificate) outlives
    /// its container. Apart from the meter and configuration, which the container must not touch.
    fn state_dir(&self, deal: DealId) -> Result<PathBuf, RuntimeError> {
        let dir = self.root.join(format!("deal-{deal}")).join("state");
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::canonicalize(&dir))
            .map_err(|source| RuntimeError::Io { deal, path: dir.clone(), source })
    }

    fn meter_path(&self, deal: DealId) -> PathBuf {
        Meter::path(&self.root, deal)
    }

    fn engine(doing: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> RuntimeError {
        let doing = doing.into();
        move |source| RuntimeError::Docker { doing, source }
    }

    /// The deal's container, running or not, found by its labels.
    async fn find(&self, deal: DealId) -> Result<Option<ContainerSummary>, RuntimeError> {
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![format!("{LABEL_MARKET}={}", self.market), format!("{LABEL_DEAL}={deal}")],
        )]);
        let options = ListContainersOptions { all: true, filters: Some(filters), ..Default::default() };
        let found = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(Self::engine(format!("listing the containers of deal {deal}")))?;
        Ok(found.into_iter().next())
    }

    /// The container as the Engine sees it, `None` once it is gone.
    async fn inspect(&self, id: &str) -> Result<Option<ContainerInspectResponse>, RuntimeError> {
        match self
            .docker
            .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
        {
            Ok(found) => Ok(Some(found)),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
            Err(source) => Err(RuntimeError::Docker { doing: format!("inspecting container {id}"), source }),
        }
    }

    /// Bytes received and sent over all the container's interfaces in this run, `None` when it
    /// does not run (its counters are gone).
    async fn counters(&self, id: &str) -> Result<Option<(u64, u64)>, RuntimeError> {
        let options = StatsOptions { stream: false, one_shot: true };
        let mut stream = self.docker.stats(id, Some(options));
        let Some(stats) = stream.next().await else { return Ok(None) };
        let stats = match stats {
            Ok(stats) => stats,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                return Ok(None);
            }
            Err(source) => {
                return Err(RuntimeError::Docker { doing: format!("reading the stats of {id}"), source });
            }
        };
        Ok(stats.networks.map(|networks| {
            networks.values().fold((0u64, 0u64), |(received, sent), n| {
                (
                    received.saturating_add(n.rx_bytes.unwrap_or(0)),
                    sent.saturating_add(n.tx_bytes.unwrap_or(0)),
                )
            })
        }))
    }

    /// Samples a running container's counters into the deal's meter (saved when it changed).
    async fn sample(&self, deal: DealId, id: &str) -> Result<Meter, RuntimeError> {
        let path = self.meter_path(deal);
        let mut meter = Meter::load(&path, deal)?.unwrap_or_else(|| Meter::new(id));
        if let Some((received, sent)) = self.counters(id).await?
            && meter.sample(received, sent)
        {
            meter.save(&path, deal)?;
        }
        Ok(meter)
    }

    /// Makes sure the image is on the machine: pulls it (with the configured credentials) when
    /// it is not and pulls are allowed.
    async fn ensure_image(&self, deal: DealId, image: &str) -> Result<(), RuntimeError> {
        let missing = match self.docker.inspect_image(image).await {
            Ok(_) => return Ok(()),
            Err(error) => error,
        };
        if !self.config.pull {
            return Err(RuntimeError::ImageUnavailable { deal, image: image.to_owned(), source: missing });
        }
        let credentials = self.config.registry_auth.as_ref().map(|auth| DockerCredentials {
            username: Some(auth.username.clone()),
            password: Some(auth.password.clone()),
            serveraddress: Some(auth.server.clone()),
            ..Default::default()
        });
        let options = CreateImageOptions { from_image: Some(image.to_owned()), ..Default::default() };
        let mut pull = self.docker.create_image(Some(options), None, credentials);
        while let Some(step) = pull.next().await {
            step.map_err(|source| RuntimeError::ImageUnavailable { deal, image: image.to_owned(), source })?;
        }
        Ok(())
    }

    /// Creates the deal's container (not started).
    async fn create(
        &self,
        spec: &WorkloadSpec,
        host_port: u16,
        config: Option<WorkloadConfig>,
    ) -> Result<String, RuntimeError> {
        let deal = spec.deal_id;
        let port = format!("{}/tcp", self.config.port);
        let resources = &spec.resources;
        let device_requests = (resources.gpu_count > 0).then(|| {
            vec![DeviceRequest {
                count: Some(i64::try_from(resources.gpu_count).unwrap_or(i64::MAX)),
                capabilities: Some(vec![vec!["gpu".to_owned()]]),
                ..Default::default()
            }]
        });
        let state = self.state_dir(deal)?;
        let host_config = HostConfig {
            binds: Some(vec![format!("{}:{STATE_MOUNT}", state.display())]),
            nano_cpus: (resources.cpu_milli_cores > 0).then(|| {
                i64::try_from(resources.cpu_milli_cores.saturating_mul(1_000_000)).unwrap_or(i64::MAX)
            }),
            memory: (resources.ram_bytes > 0).then(|| i64::try_from(resources.ram_bytes).unwrap_or(i64::MAX)),
            device_requests,
            port_bindings: Some(HashMap::from([(
                port.clone(),
                Some(vec![PortBinding {
                    host_ip: Some(spec.ip.to_string()),
                    host_port: Some(host_port.to_string()),
                }]),
            )])),
            network_mode: self.config.network.clone(),
            // Docker's init as PID 1 passes SIGTERM on: a program that leaves signals to its
            // default (ignored for a PID 1) still stops at once, not after the stop timeout.
            init: Some(true),
            ..Default::default()
        };
        let labels = HashMap::from([
            (LABEL_MARKET.to_owned(), self.market.to_string()),
            (LABEL_DEAL.to_owned(), deal.to_string()),
            (LABEL_MASTER.to_owned(), spec.master.to_string()),
            ("io.snm.customer".to_owned(), spec.customer.to_string()),
            ("io.snm.config-hash".to_owned(), spec.config_hash.to_string()),
        ]);
        let mut env = vec![
            format!("SNM_DEAL={deal}"),
            format!("SNM_CONFIG_HASH={}", spec.config_hash),
            format!("SNM_STATE_DIR={STATE_MOUNT}"),
        ];
        let config = config.unwrap_or_default();
        env.extend(config.env.iter().chain(&config.secrets).map(|(name, value)| format!("{name}={value}")));
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: (!config.args.is_empty()).then_some(config.args),
            exposed_ports: Some(HashMap::from([(port, HashMap::new())])),
            env: Some(env),
            labels: Some(labels),
            host_config: Some(host_config),
            ..Default::default()
        };
        let options = CreateContainerOptions { name: Some(self.container_name(deal)), ..Default::default() };
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(Self::engine(format!("creating the container of deal {deal}")))?;
        Ok(created.id)
    }

    /// Removes a container (stopped or not), ignoring one already gone.
    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        let options = RemoveContainerOptions { force: true, ..Default::default() };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) | Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {
                Ok(())
            }
            Err(source) => Err(RuntimeError::Docker { doing: format!("removing container {id}"), source }),
        }
    }

    /// Waits until the new container stayed up for the startup grace and its published port
    /// accepts connections.
    async fn wait_ready(&self, deal: DealId, id: &str, endpoint: SocketAddr) -> Result<(), RuntimeError> {
        let started = Instant::now();
        let deadline = started + self.config.ready_timeout.max(self.config.startup_grace);
        loop {
            let state = self.inspect(id).await?.and_then(|c| c.state);
            let running = state.as_ref().and_then(|s| s.running).unwrap_or(false);
            if !running {
                let exit = state.as_ref().and_then(|s| s.exit_code).unwrap_or(-1);
                let reason = state.and_then(|s| s.error).filter(|e| !e.is_empty()).unwrap_or_default();
                return Err(RuntimeError::ExitedEarly {
                    deal,
                    status: format!("exit code {exit}"),
                    output: reason,
                });
            }
            if started.elapsed() >= self.config.startup_grace
                && tokio::net::TcpStream::connect(endpoint).await.is_ok()
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(RuntimeError::ExitedEarly {
                    deal,
                    status: "running".into(),
                    output: format!(
                        "its port {endpoint} did not answer within {:?}",
                        self.config.ready_timeout
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The TLS certificate fingerprint the container printed on its output (the last
    /// `…#sha256=<64 hex digits>`, as `snm-proxy` prints `snm-proxy: listening on …#sha256=…`), so
    /// that the announced endpoint names it as the process runtime's does; `None` when it printed
    /// none (or its log cannot be read: the endpoint is then announced without it).
    async fn fingerprint(&self, id: &str) -> Option<String> {
        let options = LogsOptions { stdout: true, stderr: true, tail: "all".into(), ..Default::default() };
        let mut logs = self.docker.logs(id, Some(options));
        let (mut found, mut read) = (None, 0usize);
        while let Some(Ok(chunk)) = logs.next().await {
            let bytes: &[u8] = chunk.as_ref();
            read = read.saturating_add(bytes.len());
            if let Some(fingerprint) = find_fingerprint(&String::from_utf8_lossy(bytes)) {
                found = Some(fingerprint);
            }
            if read > LOG_SCAN_MAX {
                break;
            }
        }
        found
    }

    fn workload(
        &self,
        deal: DealId,
        id: &str,
        pid: Option<i64>,
        endpoint: SocketAddr,
        fingerprint: Option<String>,
    ) -> Workload {
        Workload {
            deal_id: deal,
            pid: pid.and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
            started_at: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            dir: self.root.join(format!("deal-{deal}")),
            stats: self.meter_path(deal),
            endpoint: Some(match fingerprint {
                Some(fingerprint) => format!("{endpoint}#sha256={fingerprint}"),
                None => endpoint.to_string(),
            }),
            process_start: None,
            container: Some(id.to_owned()),
        }
    }
}

/// The last `#sha256=<64 hex digits>` in `text`, in lower case.
fn find_fingerprint(text: &str) -> Option<String> {
    text.rmatch_indices("#sha256=").find_map(|(at, marker)| {
        let hex = text.get(at + marker.len()..at + marker.len() + 64)?;
        hex.bytes().all(|b| b.is_ascii_hexdigit()).then(|| hex.to_ascii_lowercase())
    })
}

/// The endpoint a container publishes its port on (read back from the Engine).
fn published(container: &ContainerInspectResponse, port: u16) -> Option<SocketAddr> {
    let ports = container.host_config.as_ref()?.port_bindings.as_ref()?;
    let binding = ports.get(&format!("{port}/tcp"))?.as_ref()?.first()?;
    let ip: IpAddr = binding.host_ip.as_deref()?.parse().ok()?;
    Some(SocketAddr::new(ip, binding.host_port.as_deref()?.parse().ok()?))
}

/// A port free on `ip` now: the container's port is published there, fixed, so that restarts
/// of the container keep the announced endpoint.
fn free_port(deal: DealId, ip: IpAddr) -> Result<u16, RuntimeError> {
    let listener = TcpListener::bind((ip, 0)).map_err(|source| RuntimeError::Io {
        deal,
        path: PathBuf::from(format!("{ip}:0")),
        source,
    })?;
    listener.local_addr().map(|a| a.port()).map_err(|source| RuntimeError::Io {
        deal,
        path: PathBuf::from(format!("{ip}:0")),
        source,
    })
}

impl Runtime for DockerRuntime {
    async fn start(&self, spec: &WorkloadSpec) -> Result<Workload, RuntimeError> {
        let deal = spec.deal_id;
        let path = self.meter_path(deal);
        let meter = Meter::load(&path, deal)?;
        if let Some(meter) = &meter
            && self.crashed(meter)
        {
            if let Some(found) = self.find(deal).await?
                && let Some(id) = found.id
            {
                self.remove(&id).await?;
            }
            return Err(RuntimeError::CrashLoop {
                deal,
                exits: meter.exits,
                exit_code: meter.last_exit_code.unwrap_or(-1),
                close_deal: self.config.close_on_crash,
            });
        }
        if let Some(found) = self.find(deal).await?
            && let Some(id) = found.id
        {
            let inspected = self.inspect(&id).await?;
            let state = inspected.as_ref().and_then(|c| c.state.as_ref());
            let running = state.and_then(|s| s.running).unwrap_or(false);
            if running && let Some(endpoint) = inspected.as_ref().and_then(|c| published(c, self.config.port))
            {
                // Started by an agent that stopped before recording it: adopted, not run twice.
                let pid = state.and_then(|s| s.pid);
                self.sample(deal, &id).await?;
                let fingerprint = self.fingerprint(&id).await;
                return Ok(self.workload(deal, &id, pid, endpoint, fingerprint));
            }
            // A container that stopped before anyone recorded it: its traffic, if any, was
            // sampled into the meter, which the agent counts when the workload dies.
            self.remove(&id).await?;
        }
        let config = self.workload_config(spec)?;
        self.ensure_image(deal, &spec.image).await?;
        let endpoint = SocketAddr::new(spec.ip, free_port(deal, spec.ip)?);
        let id = self.create(spec, endpoint.port(), config).await?;
        Meter::new(&id).save(&path, deal)?;
        if let Err(source) =
            self.docker.start_container(&id, None::<bollard::query_parameters::StartContainerOptions>).await
        {
            self.remove(&id).await.ok();
            return Err(RuntimeError::Docker {
                doing: format!("starting the container of deal {deal}"),
                source,
            });
        }
        if let Err(error) = self.wait_ready(deal, &id, endpoint).await {
            self.remove(&id).await.ok();
            return Err(error);
        }
        let pid = self.inspect(&id).await?.and_then(|c| c.state).and_then(|s| s.pid);
        let fingerprint = self.fingerprint(&id).await;
        Ok(self.workload(deal, &id, pid, endpoint, fingerprint))
    }

    /// Samples a running container; starts one that exited by itself again while restarts
    /// remain.
    async fn is_running(&self, workload: &Workload) -> bool {
        let Some(id) = &workload.container else { return false };
        let deal = workload.deal_id;
        let Ok(Some(container)) = self.inspect(id).await else { return false };
        let state = container.state.unwrap_or_default();
        if state.running.unwrap_or(false) {
            // A failed sample is taken again at the next look; the container runs.
            let _ = self.sample(deal, id).await;
            return true;
        }
        let path = self.meter_path(deal);
        let Ok(loaded) = Meter::load(&path, deal) else { return false };
        let mut meter = loaded.unwrap_or_else(|| Meter::new(id.as_str()));
        if meter.exited(state.finished_at, state.exit_code) && meter.save(&path, deal).is_err() {
            return false;
        }
        if self.crashed(&meter) {
            return false;
        }
        self.docker
            .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
            .await
            .is_ok()
    }

    async fn usage(&self, workload: &Workload) -> Result<Usage, RuntimeError> {
        let deal = workload.deal_id;
        let meter = match &workload.container {
            Some(id) => self.sample(deal, id).await?,
            None => Meter::load(&self.meter_path(deal), deal)?.unwrap_or_default(),
        };
        Ok(Usage { bytes: meter.total() })
    }

    /// Samples the container one last time, stops it, removes it, and returns its traffic.
    async fn stop(&self, workload: &Workload) -> Result<Usage, RuntimeError> {
        let usage = self.usage(workload).await?;
        if let Some(id) = &workload.container {
            let seconds = i32::try_from(self.config.stop_timeout.as_secs()).unwrap_or(i32::MAX);
            let options = StopContainerOptions { t: Some(seconds), ..Default::default() };
            match self.docker.stop_container(id, Some(options)).await {
                Ok(())
                | Err(bollard::errors::Error::DockerResponseServerError { status_code: 304 | 404, .. }) => {}
                Err(source) => {
                    return Err(RuntimeError::Docker { doing: format!("stopping container {id}"), source });
                }
            }
            self.remove(id).await?;
        }
        Ok(usage)
    }

    /// The directory of meters can be written.
    fn check(&self) -> Result<(), RuntimeError> {
        let unwritable = |source| RuntimeError::DirNotWritable { dir: self.root.clone(), source };
        std::fs::create_dir_all(&self.root).map_err(unwritable)?;
        let probe = self.root.join(format!(".snm-agent-check-{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(unwritable)?;
        std::fs::remove_file(&probe).map_err(unwritable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_full_fingerprint_of_a_log_is_found() {
        let a = "ab".repeat(32);
        let b = "CD".repeat(32);
        let log =
            format!("snm-proxy: listening on 0.0.0.0:3128#sha256={a}\nrestart\nlistening on x#sha256={b}\n");
        assert_eq!(find_fingerprint(&log), Some("cd".repeat(32)));
        assert_eq!(find_fingerprint("listening on x#sha256=abc\n"), None, "too short");
        assert_eq!(find_fingerprint("no pin here"), None);
    }
}
