//! Where the marketplace's contracts are ([`Deployment`]): from a deployment file, or discovered
//! from the market's address.

use std::path::{Path, PathBuf};

use alloy::{primitives::Address, providers::Provider};
use serde::{Deserialize, Serialize};

use crate::{Error, bindings::Market};

/// Why a deployment file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeploymentError {
    /// The file could not be read.
    #[error("cannot read the deployment file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a deployment (not JSON, or a contract's address is missing or malformed).
    #[error("the deployment file {} is not valid: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON decoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The deployment could not be encoded as JSON.
    #[error("cannot encode the deployment as JSON: {source}")]
    Encode {
        /// The JSON encoder's error.
        #[source]
        source: serde_json::Error,
    },
    /// The file could not be written.
    #[error("cannot write the deployment file {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// Where the marketplace's contracts are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Deployment {
    /// The SNM token.
    pub token: Address,
    /// The SNM/USD price oracle.
    pub oracle: Address,
    /// The market (with its escrow and identity parts).
    pub market: Address,
    /// The reward distributor, if there is one.
    #[serde(default, alias = "rewards")]
    pub distributor: Option<Address>,
    /// The block the market was deployed in: where event scans start.
    #[serde(default, alias = "startBlock")]
    pub start_block: u64,
    /// The chain it is on, when known: [`Deployment::verify`] refuses a node of another chain.
    #[serde(default, alias = "chainId", skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<u64>,
}

impl Deployment {
    /// Reads a deployment file: the JSON this type serializes to, or the one
    /// `contracts/script/Deploy.s.sol` writes (`token`, `oracle`, `market`, `rewards`, `startBlock`;
    /// other keys are ignored).
    pub fn from_file(path: &Path) -> Result<Self, DeploymentError> {
        let text =
            std::fs::read(path).map_err(|source| DeploymentError::Read { path: path.to_owned(), source })?;
        serde_json::from_slice(&text)
            .map_err(|source| DeploymentError::Parse { path: path.to_owned(), source })
    }

    /// Writes the deployment as JSON (readable by [`Deployment::from_file`]).
    pub fn write_file(&self, path: &Path) -> Result<(), DeploymentError> {
        let json = serde_json::to_vec_pretty(self).map_err(|source| DeploymentError::Encode { source })?;
        std::fs::write(path, json).map_err(|source| DeploymentError::Write { path: path.to_owned(), source })
    }

    /// Reads the token and the oracle from the market at `market`. Event scans start at block 0;
    /// set [`Deployment::start_block`] to the market's deployment block to skip older blocks.
    pub async fn discover<P: Provider>(
        provider: &P,
        market: Address,
        distributor: Option<Address>,
    ) -> Result<Self, Error> {
        let instance = Market::new(market, provider);
        let (token, oracle) = (instance.token(), instance.oracle());
        let (token, oracle) = tokio::try_join!(token.call(), oracle.call())?;
        let chain_id = Some(provider.get_chain_id().await?);
        Ok(Self { token, oracle, market, distributor, start_block: 0, chain_id })
    }

    /// Checks that `provider` serves this deployment's chain: the node's chain id is the
    /// deployment's [`chain_id`](Deployment::chain_id) ([`Error::WrongChain`] otherwise), and each
    /// contract has code at its address ([`Error::NoContractCode`] otherwise: a file of another
    /// chain, or a node reset since the deployment). Programs that send transactions call it at
    /// start, so that nothing is sent to the wrong chain.
    pub async fn verify<P: Provider>(&self, provider: &P) -> Result<(), Error> {
        let found = provider.get_chain_id().await?;
        if let Some(expected) = self.chain_id
            && expected != found
        {
            return Err(Error::WrongChain { expected, found });
        }
        let contracts = [("market", self.market), ("token", self.token), ("oracle", self.oracle)]
            .into_iter()
            .chain(self.distributor.map(|address| ("distributor", address)));
        for (contract, address) in contracts {
            if provider.get_code_at(address).await?.is_empty() {
                return Err(Error::NoContractCode { contract, address, chain_id: found });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_deploy_scripts_file_and_its_own() {
        let dir = std::env::temp_dir().join(format!("snm-deployment-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let forge = dir.join("31337.local.json");
        std::fs::write(
            &forge,
            r#"{"chainId":31337,"owner":"0x0000000000000000000000000000000000000001",
                "token":"0x0000000000000000000000000000000000000002","oracle":"0x0000000000000000000000000000000000000003",
                "minRunway":3600,"market":"0x0000000000000000000000000000000000000004","rewardDelay":86400,
                "startBlock":7,"rewards":"0x0000000000000000000000000000000000000005"}"#,
        )
        .unwrap();
        let read = Deployment::from_file(&forge).unwrap();
        assert_eq!(read.market, Address::with_last_byte(4));
        assert_eq!((read.distributor, read.start_block), (Some(Address::with_last_byte(5)), 7));
        assert_eq!(read.chain_id, Some(31337));

        let own = dir.join("own.json");
        read.write_file(&own).unwrap();
        assert_eq!(Deployment::from_file(&own).unwrap(), read);
        std::fs::write(&own, b"{}").unwrap();
        let error = Deployment::from_file(&own).unwrap_err();
        assert!(matches!(&error, DeploymentError::Parse { path, .. } if *path == own), "{error:?}");
        assert!(error.to_string().contains("missing field `token`"), "{error}");
        let missing = Deployment::from_file(&dir.join("absent.json")).unwrap_err();
        let DeploymentError::Read { source, .. } = &missing else { panic!("{missing:?}") };
        assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        assert!(std::error::Error::source(&missing).is_some(), "the io error is kept as the source");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
