//! The customer's side of a campaign that checks traffic from both sides: its usage report of the
//! deals it bought, one record per deal in the engine's CSV format, signed beside it in
//! `<report>.sig` (sdk/REWARDS.md, "Traffic from both sides").

use std::{fmt::Write as _, path::Path};

use alloy::signers::Signer;

use super::{
    error::RewardsError,
    two_sided::ReportSignature,
    usage::{CSV_HEADER, UsageFormat, UsageReader, UsageRecord},
};

/// The CSV text of `records`, header first, one line per record, in the order given.
pub fn usage_csv(records: &[UsageRecord]) -> String {
    let mut csv = format!("{CSV_HEADER}\n");
    for r in records {
        // Writing to a String cannot fail.
        let _ = writeln!(csv, "{},{},{},{},{}", r.account, r.ip, r.bytes.get(), r.period.start, r.period.end);
    }
    csv
}

/// Writes `records` as the customer's usage report at `path` (CSV), reads it back through the
/// engine's reader (a record the engine would not read, such as a reversed period, is its
/// `RewardsError::Input` naming the line, and the file is removed), then signs it with `signer`
/// into `<path>.sig`. Returns the signature written.
pub async fn write_customer_report<S: Signer + Send + Sync + ?Sized>(
    signer: &S,
    path: &Path,
    records: &[UsageRecord],
) -> Result<ReportSignature, RewardsError> {
    std::fs::write(path, usage_csv(records)).map_err(|e| RewardsError::io(path, e))?;
    if let Err(error) = read_back(path) {
        let _ = std::fs::remove_file(path);
        return Err(error);
    }
    ReportSignature::sign_file(signer, path).await
}

fn read_back(path: &Path) -> Result<(), RewardsError> {
    let mut reader = UsageReader::open(path, Some(UsageFormat::Csv))?;
    while reader.next_record()?.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy::{
        primitives::{Address, B256},
        signers::local::PrivateKeySigner,
    };

    use super::*;
    use crate::{rewards::usage::Period, units::Bytes};

    #[tokio::test]
    async fn the_report_reads_back_and_its_signature_names_the_customer()
    -> Result<(), Box<dyn std::error::Error>> {
        let customer = PrivateKeySigner::from_bytes(&B256::repeat_byte(9))?;
        let dir = std::env::temp_dir().join(format!("snm-customer-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("customer.csv");
        let record = UsageRecord {
            account: Address::repeat_byte(2),
            ip: "127.0.0.11".parse()?,
            bytes: Bytes::new(1_500),
            period: Period { start: 100, end: 3_699 },
        };
        let signed = write_customer_report(&customer, &path, &[record]).await?;
        assert_eq!(signed.signer, customer.address());
        assert_eq!(ReportSignature::verify_file(&path)?, customer.address());
        assert_eq!(
            std::fs::read_to_string(&path)?,
            format!("{CSV_HEADER}\n0x0202020202020202020202020202020202020202,127.0.0.11,1500,100,3699\n")
        );
        let reversed = UsageRecord { period: Period { start: 10, end: 9 }, ..record };
        let err = write_customer_report(&customer, &dir.join("bad.csv"), &[reversed]).await.map(drop);
        assert!(matches!(err, Err(RewardsError::Input { .. })), "{err:?}");
        assert!(!dir.join("bad.csv").exists());
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
