//! A paged-attention block allocator, as vLLM's: a fixed pool of 16-token blocks, a free list, and a
//! block table per sequence. Freed blocks go back on the free list and are reused first (LIFO), so
//! sequences end up scattered over memory. Blocks that do not fit the pool are counted as overflow.

/// Marks a free block in `owner`.
pub const FREE: u32 = u32::MAX;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockAllocator {
    /// Owner (sequence id) of each block, or FREE.
    owner: Vec<u32>,
    /// Free blocks; the next allocation pops from the end.
    free: Vec<u32>,
    /// Block tables: the blocks of each live sequence, in token order.
    tables: Vec<(u32, Vec<u32>)>,
    /// Blocks wanted beyond the pool (per sequence id).
    overflow: Vec<(u32, u64)>,
}

impl BlockAllocator {
    /// Bytes its collections hold (their capacity), to check that nothing grows as it runs.
    pub fn footprint(&self) -> usize {
        use std::mem::size_of;
        self.owner.capacity() * 4
            + self.free.capacity() * 4
            + self.tables.capacity() * size_of::<(u32, Vec<u32>)>()
            + self
                .tables
                .iter()
                .map(|t| t.1.capacity() * 4)
                .sum::<usize>()
            + self.overflow.capacity() * size_of::<(u32, u64)>()
    }

    /// A pool of `blocks` blocks, handed out from the lowest address first.
    pub fn new(blocks: u32) -> BlockAllocator {
        BlockAllocator {
            owner: vec![FREE; blocks as usize],
            free: (0..blocks).rev().collect(),
            tables: Vec::new(),
            overflow: Vec::new(),
        }
    }

    pub fn capacity(&self) -> u32 {
        self.owner.len() as u32
    }

    pub fn owners(&self) -> &[u32] {
        &self.owner
    }

    pub fn free_blocks(&self) -> u32 {
        self.free.len() as u32
    }

    /// The block table of a sequence.
    pub fn table(&self, seq: u32) -> &[u32] {
        self.tables
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, t)| t.as_slice())
            .unwrap_or(&[])
    }

    /// Blocks a sequence wants beyond the pool.
    pub fn overflow_of(&self, seq: u32) -> u64 {
        self.overflow
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }

    pub fn overflow_blocks(&self) -> u64 {
        self.overflow.iter().map(|(_, n)| n).sum()
    }

    /// Makes `seq` hold `blocks` blocks: allocates from the free list, or frees its oldest blocks
    /// when it needs fewer (a sliding window moving on). What the pool cannot give is overflow.
    pub fn resize(&mut self, seq: u32, blocks: u64) {
        let ti = match self.tables.iter().position(|(s, _)| *s == seq) {
            Some(i) => i,
            None => {
                if blocks == 0 {
                    return;
                }
                self.tables.push((seq, Vec::new()));
                self.tables.len() - 1
            }
        };
        let oi = self.overflow.iter().position(|(s, _)| *s == seq);
        let over = oi.map(|i| self.overflow[i].1).unwrap_or(0);
        let held = self.tables[ti].1.len() as u64 + over;
        if blocks > held {
            let mut want = blocks - held;
            if over == 0 {
                let table = &mut self.tables[ti].1;
                while want > 0 {
                    let Some(b) = self.free.pop() else { break };
                    self.owner[b as usize] = seq;
                    table.push(b);
                    want -= 1;
                }
            }
            if want > 0 {
                match oi {
                    Some(i) => self.overflow[i].1 += want,
                    None => self.overflow.push((seq, want)),
                }
            }
        } else if blocks < held {
            let mut drop = held - blocks;
            if let Some(i) = oi {
                let d = drop.min(over);
                self.overflow[i].1 -= d;
                drop -= d;
                if self.overflow[i].1 == 0 {
                    self.overflow.swap_remove(i);
                }
            }
            // The oldest blocks leave first (the window slid past them).
            let table = &mut self.tables[ti].1;
            let d = (drop as usize).min(table.len());
            for &b in table[..d].iter().rev() {
                self.owner[b as usize] = FREE;
                self.free.push(b);
            }
            table.drain(..d);
        }
    }

    /// Frees every block of a finished sequence.
    pub fn release(&mut self, seq: u32) {
        if let Some(i) = self.tables.iter().position(|(s, _)| *s == seq) {
            let (_, t) = self.tables.swap_remove(i);
            for b in t.into_iter().rev() {
                self.owner[b as usize] = FREE;
                self.free.push(b);
            }
        }
        self.overflow.retain(|(s, _)| *s != seq);
    }

    /// Checks the invariants; returns the first violation.
    pub fn check(&self) -> Result<(), AllocatorError> {
        let mut seen = vec![false; self.owner.len()];
        for (seq, t) in &self.tables {
            for &b in t {
                let i = b as usize;
                if seen[i] {
                    return Err(AllocatorError::TwoTables(b));
                }
                seen[i] = true;
                if self.owner[i] != *seq {
                    return Err(AllocatorError::WrongOwner {
                        block: b,
                        table: *seq,
                        owner: self.owner[i],
                    });
                }
            }
        }
        for &b in &self.free {
            let i = b as usize;
            if seen[i] || self.owner[i] != FREE {
                return Err(AllocatorError::FreeAndOwned(b));
            }
            seen[i] = true;
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            return Err(AllocatorError::Lost(i as u32));
        }
        Ok(())
    }
}

/// A broken invariant of the allocator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AllocatorError {
    #[error("block {0} is in two tables")]
    TwoTables(u32),
    #[error("block {block} in table of {table} but owned by {owner}")]
    WrongOwner { block: u32, table: u32, owner: u32 },
    #[error("block {0} is free and owned")]
    FreeAndOwned(u32),
    #[error("block {0} is neither free nor owned")]
    Lost(u32),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn freed_blocks_are_reused_and_scatter() {
        let mut a = BlockAllocator::new(8);
        a.resize(1, 3);
        a.resize(2, 3);
        assert_eq!(a.table(1), &[0, 1, 2]);
        assert_eq!(a.table(2), &[3, 4, 5]);
        a.release(1);
        a.resize(3, 4);
        // seq 3 reuses seq 1's blocks first, then the untouched ones
        assert_eq!(a.table(3), &[0, 1, 2, 6]);
        a.resize(3, 6);
        assert_eq!(a.table(3).len(), 5);
        assert_eq!(a.overflow_of(3), 1);
        a.check().unwrap();
        // a window sliding on frees the oldest block
        a.resize(2, 2);
        assert_eq!(a.table(2), &[4, 5]);
        a.check().unwrap();
    }

    proptest! {
        #[test]
        fn invariants_hold_under_any_operations(ops in proptest::collection::vec((0u32..6, 0u64..40, any::<bool>()), 1..200)) {
            let mut a = BlockAllocator::new(64);
            for (seq, n, release) in ops {
                if release { a.release(seq) } else { a.resize(seq, n) }
                prop_assert!(a.check().is_ok(), "{:?}", a.check());
                // blocks held + free = pool
                let held: usize = (0..6).map(|s| a.table(s).len()).sum();
                prop_assert_eq!(held + a.free_blocks() as usize, 64);
            }
            for s in 0..6 { a.release(s); }
            prop_assert_eq!(a.free_blocks(), 64);
        }
    }
}
