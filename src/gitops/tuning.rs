//! Process-wide libgit2 settings that Ferry's repositories need.

use git2::ObjectType;

/// Trees up to this size stay in libgit2's object cache.
const TREE_CACHE_LIMIT: usize = 4 << 20;

/// libgit2 caches trees only up to 4 KiB by default. A large GitOps repository's directory
/// trees are bigger (`apps/` with 2,000 services is about 80 KiB), so every path lookup
/// read, inflated, hashed and parsed them again: a commit into 500 overlays spent seconds on
/// it. Raising the limit keeps them cached (the cache's total size stays libgit2's 256 MiB).
///
/// # Safety
/// Sets a libgit2 global without synchronisation: call it before any thread is spawned
/// (first thing in `main`).
///
/// libgit2 also hashes every object it reads to check it against its id, which was a sixth
/// of the first audit of a long history (every changed tree of every hand-made commit
/// re-hashed). git itself checks objects when they arrive (index-pack on fetch) and on
/// `git fsck`, not on each read; Ferry does the same, and its mirrors are re-fetchable
/// copies.
pub unsafe fn configure_libgit2() {
    git2::opts::strict_hash_verification(false);
    // SAFETY: the caller guarantees no other thread exists yet.
    if let Err(error) =
        unsafe { git2::opts::set_cache_object_limit(ObjectType::Tree, TREE_CACHE_LIMIT) }
    {
        tracing::warn!(%error, "cannot raise libgit2's tree cache limit; large repositories are slower");
    }
}
