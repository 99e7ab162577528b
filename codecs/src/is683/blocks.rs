//! Framing shared by several IS-683 messages: parameter blocks carried as raw octets, per-block
//! result lists, and segment requests.
//!
//! | shape | fields | used by |
//! |---|---|---|
//! | [`BlockIdList`] | NUM_BLOCKS 8, BLOCK_ID 8 x N | Configuration, 3GPD / MMD / MMS Configuration Request |
//! | [`BlockDownloadRequest`] | NUM_BLOCKS 8, {BLOCK_ID 8, BLOCK_LEN 8, PARAM_DATA} x N, [FRESH] | PUZL / 3GPD / MMD / MMS Download Request |
//! | [`BlockResults`] | NUM_BLOCKS 8, {BLOCK_ID 8, RESULT_CODE 8} x N | Download, Validation, 3GPD / MMD / MMS Download Response |
//! | [`RawConfigurationResponse`] | NUM_BLOCKS 8, {BLOCK_ID 8, BLOCK_LEN 8, PARAM_DATA, RESULT_CODE 8} x N, [FRESH] | 3GPD / MMD / MMS Configuration Response |
//! | [`SingleBlockResponse`] | BLOCK_ID 8, RESULT_CODE 8, BLOCK_LEN 8, PARAM_DATA, [FRESH] | SSPR / PUZL / System Tag Configuration Response |
//! | [`SegmentRequest`] | OFFSET 16, MAX_SIZE 8 | SSPR / System Tag Configuration Request |

use super::{
    expect_end, octet_count, put_fresh, put_result, read_fresh, read_result, Is683Error, Result,
    ResultCode,
};
use crate::bits::{BitReader, BitWriter};

/// A parameter block kept as octets: BLOCK_ID 8, BLOCK_LEN 8, PARAM_DATA (BLOCK_LEN octets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawBlock {
    /// BLOCK_ID (or RECORD_TYPE for capability records).
    pub block_id: u8,
    /// PARAM_DATA, at most 255 octets.
    pub data: Vec<u8>,
}

impl RawBlock {
    /// A block with the given id and data.
    pub fn new(block_id: u8, data: impl Into<Vec<u8>>) -> Self {
        Self {
            block_id,
            data: data.into(),
        }
    }

    /// Reads BLOCK_ID, BLOCK_LEN and PARAM_DATA, checking BLOCK_LEN against the input left.
    pub(crate) fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let block_id = r.u8("BLOCK_ID", 8)?;
        let data = read_block_data(r, block_id)?;
        Ok(Self { block_id, data })
    }

    /// Writes BLOCK_ID, BLOCK_LEN and PARAM_DATA.
    pub(crate) fn write(&self, w: &mut BitWriter) -> Result<()> {
        write_block(w, self.block_id, &self.data)
    }
}

/// Reads BLOCK_LEN and then that many octets of PARAM_DATA of block `block_id`.
pub(crate) fn read_block_data(r: &mut BitReader<'_>, block_id: u8) -> Result<Vec<u8>> {
    let len = usize::from(r.u8("BLOCK_LEN", 8)?);
    let available = r.remaining() / 8;
    if len > available {
        return Err(Is683Error::BlockLength {
            block_id,
            declared: len,
            available,
        });
    }
    Ok(r.bytes("PARAM_DATA", len)?)
}

/// Writes BLOCK_ID, BLOCK_LEN and PARAM_DATA, rejecting data over 255 octets.
pub(crate) fn write_block(w: &mut BitWriter, block_id: u8, data: &[u8]) -> Result<()> {
    let len = octet_count("BLOCK_LEN", data.len())?;
    w.write(u64::from(block_id), 8);
    w.write(u64::from(len), 8);
    w.bytes(data);
    Ok(())
}

/// Reads NUM_BLOCKS then one item per block.
pub(crate) fn read_counted<T>(
    r: &mut BitReader<'_>,
    field: &'static str,
    mut item: impl FnMut(&mut BitReader<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let n = r.u8(field, 8)?;
    let mut out = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        out.push(item(r)?);
    }
    Ok(out)
}

/// Writes NUM_BLOCKS (checked to fit 8 bits) then each item.
pub(crate) fn write_counted<T>(
    w: &mut BitWriter,
    field: &'static str,
    items: &[T],
    mut item: impl FnMut(&mut BitWriter, &T) -> Result<()>,
) -> Result<()> {
    let n = octet_count(field, items.len())?;
    w.write(u64::from(n), 8);
    for i in items {
        item(w, i)?;
    }
    Ok(())
}

/// NUM_BLOCKS 8, BLOCK_ID 8 x NUM_BLOCKS: which parameter blocks a Configuration Request (and
/// the 3GPD, MMD and MMS Configuration Requests) asks the mobile to report.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct BlockIdList {
    /// The BLOCK_IDs asked for (at most 255).
    pub block_ids: Vec<u8>,
}

impl BlockIdList {
    pub(crate) fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let block_ids = read_counted(r, "NUM_BLOCKS", |r| Ok(r.u8("BLOCK_ID", 8)?))?;
        Ok(Self { block_ids })
    }

    pub(crate) fn write(&self, w: &mut BitWriter) -> Result<()> {
        write_counted(w, "NUM_BLOCKS", &self.block_ids, |w, id| {
            w.write(u64::from(*id), 8);
            Ok(())
        })
    }
}

/// NUM_BLOCKS 8, {BLOCK_ID, BLOCK_LEN, PARAM_DATA} x N, optional FRESH: the PUZL, 3GPD, MMD and
/// MMS Download Requests, whose blocks this crate carries as octets.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct BlockDownloadRequest {
    /// The parameter blocks (at most 255).
    pub blocks: Vec<RawBlock>,
    /// FRESH (15 bits), the replay counter used in secure mode.
    pub fresh: Option<u16>,
}

impl BlockDownloadRequest {
    pub(crate) fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let blocks = read_counted(r, "NUM_BLOCKS", RawBlock::read)?;
        let fresh = read_fresh(r)?;
        Ok(Self { blocks, fresh })
    }

    pub(crate) fn write(&self, w: &mut BitWriter) -> Result<()> {
        write_counted(w, "NUM_BLOCKS", &self.blocks, |w, b| b.write(w))?;
        put_fresh(w, self.fresh)
    }
}

/// BLOCK_ID 8 + RESULT_CODE 8: the mobile's verdict on one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockResult {
    /// BLOCK_ID of the block concerned.
    pub block_id: u8,
    /// RESULT_CODE for it.
    pub result: ResultCode,
}

/// NUM_BLOCKS 8, {BLOCK_ID 8, RESULT_CODE 8} x N: the Download, Validation and 3GPD / MMD / MMS
/// Download Responses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct BlockResults {
    /// One entry per block of the request (at most 255).
    pub results: Vec<BlockResult>,
}

impl BlockResults {
    pub(crate) fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let results = read_counted(r, "NUM_BLOCKS", |r| {
            let block_id = r.u8("BLOCK_ID", 8)?;
            let result = read_result(r)?;
            Ok(BlockResult { block_id, result })
        })?;
        Ok(Self { results })
    }

    pub(crate) fn write(&self, w: &mut BitWriter) -> Result<()> {
        write_counted(w, "NUM_BLOCKS", &self.results, |w, b| {
            w.write(u64::from(b.block_id), 8);
            put_result(w, b.result);
            Ok(())
        })
    }
}

/// A block reported in a 3GPD, MMD or MMS Configuration Response, with its RESULT_CODE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConfiguredRawBlock {
    /// BLOCK_ID and PARAM_DATA.
    pub block: RawBlock,
    /// RESULT_CODE for this block.
    pub result: ResultCode,
}

/// NUM_BLOCKS 8, {BLOCK_ID 8, BLOCK_LEN 8, PARAM_DATA, RESULT_CODE 8} x N, optional FRESH: the
/// 3GPD, MMD and MMS Configuration Responses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RawConfigurationResponse {
    /// The blocks reported (at most 255).
    pub blocks: Vec<ConfiguredRawBlock>,
    /// FRESH (15 bits).
    pub fresh: Option<u16>,
}

impl RawConfigurationResponse {
    pub(crate) fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let blocks = read_counted(r, "NUM_BLOCKS", |r| {
            let block = RawBlock::read(r)?;
            let result = read_result(r)?;
            Ok(ConfiguredRawBlock { block, result })
        })?;
        let fresh = read_fresh(r)?;
        Ok(Self { blocks, fresh })
    }

    pub(crate) fn write(&self, w: &mut BitWriter) -> Result<()> {
        write_counted(w, "NUM_BLOCKS", &self.blocks, |w, b| {
            b.block.write(w)?;
            put_result(w, b.result);
            Ok(())
        })?;
        put_fresh(w, self.fresh)
    }
}

/// BLOCK_ID 8, RESULT_CODE 8, BLOCK_LEN 8, PARAM_DATA, optional FRESH: the SSPR, PUZL and
/// System Tag Configuration Responses (one block each; the data stays raw here, the PRL codec
/// interprets SSPR data).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SingleBlockResponse {
    /// BLOCK_ID of the block reported.
    pub block_id: u8,
    /// RESULT_CODE.
    pub result: ResultCode,
    /// PARAM_DATA (at most 255 octets).
    pub data: Vec<u8>,
    /// FRESH (15 bits).
    pub fresh: Option<u16>,
}

impl SingleBlockResponse {
    pub(crate) fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let block_id = r.u8("BLOCK_ID", 8)?;
        let result = read_result(r)?;
        let data = read_block_data(r, block_id)?;
        let fresh = read_fresh(r)?;
        Ok(Self {
            block_id,
            result,
            data,
            fresh,
        })
    }

    pub(crate) fn write(&self, w: &mut BitWriter) -> Result<()> {
        let len = octet_count("BLOCK_LEN", self.data.len())?;
        w.write(u64::from(self.block_id), 8);
        put_result(w, self.result);
        w.write(u64::from(len), 8);
        w.bytes(&self.data);
        put_fresh(w, self.fresh)
    }
}

/// SEGMENT_OFFSET / REQUEST_OFFSET 16 + SEGMENT_SIZE / REQUEST_MAX_SIZE 8: which octets of a
/// long parameter block (PRL, system tag list) a configuration request reads back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SegmentRequest {
    /// Octet offset into the block.
    pub offset: u16,
    /// Largest segment the mobile may return, in octets.
    pub max_size: u8,
}

impl SegmentRequest {
    pub(crate) fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let offset = r.u16("REQUEST_OFFSET", 16)?;
        let max_size = r.u8("REQUEST_MAX_SIZE", 8)?;
        Ok(Self { offset, max_size })
    }

    pub(crate) fn write(&self, w: &mut BitWriter) {
        w.write(u64::from(self.offset), 16);
        w.write(u64::from(self.max_size), 8);
    }
}

/// Reads a raw block's data with a typed parser, requiring the parser to use all but the pad
/// bits of the block.
pub(crate) fn parse_block<T>(
    data: &[u8],
    context: &'static str,
    parse: impl FnOnce(&mut BitReader<'_>) -> Result<T>,
) -> Result<T> {
    let mut r = BitReader::new(data);
    let value = parse(&mut r)?;
    expect_end(&r, context)?;
    Ok(value)
}

/// Runs a typed block writer and returns the padded octets.
pub(crate) fn build_block(write: impl FnOnce(&mut BitWriter) -> Result<()>) -> Result<Vec<u8>> {
    let mut w = BitWriter::new();
    write(&mut w)?;
    Ok(w.finish())
}
