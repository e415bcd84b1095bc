//! File-system event hooks: every VFS operation that Linux reports through fsnotify
//! calls one of these, so every file system gets inotify events.
//! (Filled in by the inotify work; placeholders keep callers compiling.)

use super::Loc;

/// Attributes of `loc` changed (chmod, chown, utimes, xattrs, link count).
pub fn attrib(_loc: &Loc) {}
