//! A supplier's application to a campaign: its master signs (EIP-712) the campaign id, itself, its
//! workers with their IPs and the time, so that nobody can apply with IPs in someone else's name.

use std::net::IpAddr;

use alloy::{
    primitives::{Address, B256, Bytes as RawBytes, Signature},
    signers::Signer,
    sol,
    sol_types::{Eip712Domain, SolStruct, eip712_domain},
};
use serde::{Deserialize, Serialize};

use super::admission_error::ApplicationError;

sol! {
    /// The EIP-712 message a master signs to apply (`CampaignApplication`): IPs are written in
    /// their canonical text form (`203.0.113.7`, `2001:db8::1`), one per worker, in order.
    #[derive(Debug)]
    struct CampaignApplication {
        string campaign;
        address master;
        address[] workers;
        string[] ips;
        uint64 time;
    }
}

/// The EIP-712 domain of applications: name `SNM Campaign`, version `1`, no chain and no
/// contract (an application is read off-chain by the operator, on any chain).
pub const APPLICATION_DOMAIN: Eip712Domain = eip712_domain! {
    name: "SNM Campaign",
    version: "1",
};

/// One worker in an application: its address and its IP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerIp {
    /// The worker's address (its own key).
    pub worker: Address,
    /// The worker's public IP.
    pub ip: IpAddr,
}

/// A signed application, as the operator stores it (one JSON line in the applications file):
/// `{"campaign":"operation-a","master":"0x…","workers":[{"worker":"0x…","ip":"203.0.113.7"}],
/// "time":1767225600,"signature":"0x…65 bytes"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// The campaign applied for (its `id`).
    pub campaign: String,
    /// The master: the payout account, which signs.
    pub master: Address,
    /// The workers and their IPs.
    pub workers: Vec<WorkerIp>,
    /// When it was signed, unix seconds.
    pub time: u64,
    /// The master's signature of [`Application::signing_hash`] (65 bytes: r, s, v).
    pub signature: RawBytes,
}

impl Application {
    /// The EIP-712 hash the master signs, under [`APPLICATION_DOMAIN`].
    pub fn signing_hash(&self) -> B256 {
        message(&self.campaign, self.master, &self.workers, self.time)
            .eip712_signing_hash(&APPLICATION_DOMAIN)
    }

    /// Signs an application of `signer` (the master) for `campaign` with `workers` at `time`;
    /// checked as [`Application::verify`] checks it, so that a bad one is never sent.
    pub async fn sign<S: Signer + Send + Sync + ?Sized>(
        signer: &S,
        campaign: &str,
        workers: Vec<WorkerIp>,
        time: u64,
    ) -> Result<Self, ApplicationError> {
        let master = signer.address();
        let workers: Vec<WorkerIp> =
            workers.into_iter().map(|w| WorkerIp { worker: w.worker, ip: w.ip.to_canonical() }).collect();
        let hash = message(campaign, master, &workers, time).eip712_signing_hash(&APPLICATION_DOMAIN);
        let signature = signer.sign_hash(&hash).await.map_err(ApplicationError::Sign)?;
        let application = Self {
            campaign: campaign.to_owned(),
            master,
            workers,
            time,
            signature: RawBytes::copy_from_slice(&signature.as_bytes()),
        };
        application.verify()?;
        Ok(application)
    }

    /// Checks the application on its own: at least one worker, each IP once and in canonical
    /// form, no zero address, and a signature by the master.
    pub fn verify(&self) -> Result<(), ApplicationError> {
        if self.master.is_zero() {
            return Err(ApplicationError::ZeroMaster);
        }
        if self.workers.is_empty() {
            return Err(ApplicationError::NoWorkers { master: self.master });
        }
        for (k, worker) in self.workers.iter().enumerate() {
            if worker.ip.to_canonical() != worker.ip {
                return Err(ApplicationError::NonCanonicalIp { ip: worker.ip });
            }
            if self.workers[..k].iter().any(|w| w.ip == worker.ip) {
                return Err(ApplicationError::IpTwice { ip: worker.ip });
            }
        }
        let signature = Signature::try_from(self.signature.as_ref())
            .map_err(|source| ApplicationError::BadSignature { master: self.master, source })?;
        let signer = signature
            .recover_address_from_prehash(&self.signing_hash())
            .map_err(|source| ApplicationError::BadSignature { master: self.master, source })?;
        if signer != self.master {
            return Err(ApplicationError::NotSignedByMaster { master: self.master, signer });
        }
        Ok(())
    }
}

fn message(campaign: &str, master: Address, workers: &[WorkerIp], time: u64) -> CampaignApplication {
    CampaignApplication {
        campaign: campaign.to_owned(),
        master,
        workers: workers.iter().map(|w| w.worker).collect(),
        ips: workers.iter().map(|w| w.ip.to_string()).collect(),
        time,
    }
}
