//! Where the memory scene's banks go: the bank states spread evenly over the active packages, one
//! `frame::BankGrid` per package, row-major in each.

use super::layout::Layout;
use crate::frame::BankGrid;
use glam::Vec2;

/// Top-left corners of `banks` banks spread evenly over the active packages, row-major in each:
/// bank `i` of the memory map is at `positions[i]`.
pub fn positions(l: &Layout, banks: u32) -> Vec<Vec2> {
    let mut grids = Vec::new();
    grids_for(l, banks, &mut grids);
    let mut out = Vec::with_capacity(banks as usize);
    for g in &grids {
        for k in 0..g.count {
            out.push(Vec2::new(
                g.pos.x + (k % g.cols) as f32 * l.bank_pitch,
                g.pos.y + (k / g.cols) as f32 * l.bank_pitch,
            ));
        }
    }
    out
}

/// Grids for `banks` banks spread evenly over the active packages, row-major in each.
pub fn grids_for(l: &Layout, banks: u32, out: &mut Vec<BankGrid>) {
    out.clear();
    let active: Vec<_> = l
        .modules
        .iter()
        .filter(|m| m.active && m.capacity() > 0)
        .collect();
    if active.is_empty() {
        return;
    }
    let cap: u32 = active.iter().map(|m| m.capacity()).sum();
    let banks = banks.min(cap);
    let n = active.len() as u32;
    // Even shares, capped by each grid; what a small grid cannot hold goes to the next ones.
    let mut shares: Vec<u32> = active
        .iter()
        .enumerate()
        .map(|(i, m)| (banks / n + u32::from((i as u32) < banks % n)).min(m.capacity()))
        .collect();
    let mut left = banks - shares.iter().sum::<u32>();
    for (i, m) in active.iter().enumerate() {
        let room = m.capacity() - shares[i];
        let take = room.min(left);
        shares[i] += take;
        left -= take;
    }
    let mut index = 0u32;
    for (m, &share) in active.iter().zip(&shares) {
        if share == 0 {
            continue;
        }
        out.push(BankGrid::new(l.bank_origin(m, 0), index, share, m.cols));
        index += share;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn banks_spread_evenly_over_the_active_packages() {
        let c = Catalog::builtin().unwrap();
        let h100 = c.gpu("h100").unwrap();
        let l = Layout::compute(1920, 1080, 1.0, h100);
        let mut grids = Vec::new();
        // 1,001 banks over the H100's 5 active stacks: 201 in the first, 200 in the others.
        grids_for(&l, 1001, &mut grids);
        let counts: Vec<u32> = grids.iter().map(|g| g.count).collect();
        assert_eq!(counts, vec![201, 200, 200, 200, 200]);
        let firsts: Vec<u32> = grids.iter().map(|g| g.first).collect();
        assert_eq!(firsts, vec![0, 201, 401, 601, 801]);
        // Bank 201 is the second grid's first bank, at its top-left corner.
        let pos = positions(&l, 1001);
        assert_eq!(pos.len(), 1001);
        assert_eq!(pos[201], grids[1].pos);
        assert_eq!(pos[1] - pos[0], Vec2::new(l.bank_pitch, 0.0));
        // More banks than the grids hold: capped at their capacity.
        grids_for(&l, u32::MAX, &mut grids);
        let total: u32 = grids.iter().map(|g| g.count).sum();
        assert_eq!(total, l.bank_capacity());
    }
}
