//! The latency histogram as results.json embeds it: HdrHistogram V2 (deflate), base64.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

/// Why a histogram could not be encoded or read back.
#[derive(Debug, thiserror::Error)]
pub enum HistogramError {
    #[error("serializing a histogram failed: {0}")]
    Encode(String),
    #[error("histogram data is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("not a serialized HdrHistogram: {0}")]
    Decode(String),
}

/// Serialized V2 (deflate) histogram, base64: what results.json embeds.
pub fn encode(h: &Histogram<u64>) -> Result<String, HistogramError> {
    let mut buf = Vec::new();
    V2DeflateSerializer::new().serialize(h, &mut buf).map_err(|e| HistogramError::Encode(format!("{e:?}")))?;
    Ok(STANDARD.encode(buf))
}

/// Inverse of [`encode`], for `report`, `compare` and merging runs from several hosts.
pub fn decode(text: &str) -> Result<Histogram<u64>, HistogramError> {
    let bytes = STANDARD.decode(text)?;
    Deserializer::new().deserialize(&mut bytes.as_slice()).map_err(|e| HistogramError::Decode(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let mut h = authbench_scenarios::recorder::new_histogram();
        for v in [10, 20, 30, 1000, 5000] {
            h.record(v).unwrap();
        }
        let back = decode(&encode(&h).unwrap()).unwrap();
        assert_eq!(back.len(), 5);
        assert_eq!(back.max(), h.max());
        assert!(decode("not base64!").is_err());
    }
}
