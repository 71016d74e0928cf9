//! A global allocator that asks Linux for transparent huge pages on large blocks.
//!
//! Classifying a line walks jieba's dictionary (a 16 MB trie and a 2.8 MB table of word
//! frequencies) and chaff's 6 MB token table at random: with 4 KiB pages nearly every
//! probe also misses the TLB. Linux backs memory with 2 MiB pages only where asked
//! (`madvise(MADV_HUGEPAGE)` under the common `transparent_hugepage=madvise` policy), and
//! neither the system allocator nor jieba-rs asks. [`HugePageAlloc`] forwards every request
//! to the system allocator, except that a block of at least 2 MiB starts on a 2 MiB
//! boundary and its whole huge pages are advised before anything touches them. Elsewhere
//! (other systems, THP disabled) the advice is ignored and nothing else changes. Measured
//! in bench/throughput.sh (README).
//!
//! The binary installs it; a library user opts in with
//! `#[global_allocator] static A: chaff::huge_pages::HugePageAlloc = chaff::huge_pages::HugePageAlloc;`.

use std::alloc::{GlobalAlloc, Layout, System};

/// Size of a transparent huge page on x86-64 (and arm64 with 4 KiB base pages).
pub const HUGE_PAGE: usize = 2 << 20;

/// The system allocator, with blocks of [`HUGE_PAGE`] bytes or more aligned to a huge page
/// and advised for huge-page backing.
pub struct HugePageAlloc;

/// The layout a block is actually allocated with: big blocks start on a huge page, so a
/// 2.8 MB block holds a whole one.
#[inline]
fn actual(layout: Layout) -> Layout {
    if layout.size() < HUGE_PAGE {
        return layout;
    }
    // A power of two at least as large as the requested one; the size is unchanged, so
    // this cannot fail.
    Layout::from_size_align(layout.size(), layout.align().max(HUGE_PAGE)).unwrap_or(layout)
}

/// Marks the whole huge pages inside `len` bytes at `ptr` for huge-page backing.
#[inline]
fn advise(ptr: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    if !ptr.is_null() && len >= HUGE_PAGE {
        let start = (ptr as usize).next_multiple_of(HUGE_PAGE);
        let end = (ptr as usize + len) & !(HUGE_PAGE - 1);
        if end > start {
            // Advice only: a failure (old kernel, THP off) leaves ordinary pages.
            // SAFETY: the range lies inside a live block this allocator just returned.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

// SAFETY: every block comes from `System` and goes back to it with the layout it was
// allocated with (`actual` depends only on the size and alignment the caller passes back);
// `advise` changes how the kernel backs a block's pages, never their contents.
unsafe impl GlobalAlloc for HugePageAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(actual(layout));
        advise(p, layout.size());
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() < HUGE_PAGE {
            return System.alloc_zeroed(layout);
        }
        // Advice counts only for pages not yet touched, and `calloc` may zero a reused
        // block before returning it: advise first, zero after.
        let p = self.alloc(layout);
        if !p.is_null() {
            std::ptr::write_bytes(p, 0, layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, actual(layout))
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < HUGE_PAGE && new_size < HUGE_PAGE {
            return System.realloc(ptr, layout, new_size);
        }
        #[cfg(unix)]
        if layout.size() >= HUGE_PAGE && new_size >= HUGE_PAGE && layout.align() <= 16 {
            // Big to big (a growing line buffer): the C `realloc` moves the pages
            // (mremap) instead of holding both copies, though the block may then lose its
            // huge-page alignment. `System` frees every block with `free`, and `malloc`
            // alignment covers `layout.align()`.
            let p = libc::realloc(ptr.cast(), new_size).cast::<u8>();
            advise(p, new_size);
            return p;
        }
        // A new block, copied by hand: the system's `realloc` would neither keep the huge
        // page alignment nor advise before copying.
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let p = self.alloc(new_layout);
        if !p.is_null() {
            std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        p
    }
}

/// Fixes glibc malloc's thresholds, so freed memory goes back to the system: blocks of 1
/// MiB or more are mapped on their own and unmapped when freed, and at most 64 MiB free
/// at the top of a heap is kept. glibc otherwise raises its mapping threshold to the
/// largest block freed so far (up to 32 MiB), after which a run's large short-lived
/// blocks (chunk buffers, a chunk's lines, decisions and scores) come from the heaps and
/// stay held there, fragmented across the threads' arenas: filtering 24 MB of
/// one-character lines in chunks of 262,144 lines peaked at 712 MB instead of 207 MB. On
/// the bench dump neither speed nor peak memory changed. A no-op on other C libraries.
/// Call it first thing in `main`, before other threads exist (`mallopt` is not
/// thread-safe against them).
pub fn bound_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: plain integer settings, made before any other thread allocates.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_blocks_start_on_a_huge_page_and_keep_their_bytes() {
        let a = HugePageAlloc;
        unsafe {
            let small = Layout::from_size_align(1000, 8).unwrap();
            let big = Layout::from_size_align(HUGE_PAGE + 12345, 8).unwrap();
            let z = a.alloc_zeroed(big);
            assert_eq!(z as usize % HUGE_PAGE, 0);
            assert!(std::slice::from_raw_parts(z, big.size())
                .iter()
                .all(|&b| b == 0));
            a.dealloc(z, big);
            // small -> big -> bigger -> small, contents carried along each time.
            let p = a.alloc(small);
            std::ptr::write_bytes(p, 7, 1000);
            let p = a.realloc(p, small, big.size());
            assert_eq!(p as usize % HUGE_PAGE, 0);
            std::ptr::write_bytes(p.add(1000), 9, big.size() - 1000);
            let bigger = 3 * HUGE_PAGE;
            let p = a.realloc(p, big, bigger);
            let s = std::slice::from_raw_parts(p, big.size());
            assert!(s[..1000].iter().all(|&b| b == 7) && s[1000..].iter().all(|&b| b == 9));
            let p = a.realloc(p, Layout::from_size_align(bigger, 8).unwrap(), 500);
            assert!(std::slice::from_raw_parts(p, 500).iter().all(|&b| b == 7));
            a.dealloc(p, Layout::from_size_align(500, 8).unwrap());
        }
    }
}
