//! The state directory of a container: `<root>/<id>/state.json`, written atomically, and
//! the control socket `<root>/<id>/sandbox.sock` of its sandbox process. The sandbox
//! process owns the status once it runs; a dead sandbox process means "stopped".

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const OCI_VERSION: &str = "1.0.2";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    /// Host pid of the sandbox process (0 before it exists).
    pub pid: i32,
    /// Its start time (field 22 of /proc/PID/stat), to tell a reused pid apart.
    pub pid_start: u64,
    pub bundle: String,
    pub rootfs: String,
    /// RFC 3339.
    pub created: String,
    /// created, running, paused, stopped.
    pub status: String,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// wait(2)-style status of init once the container stopped.
    #[serde(default)]
    pub exit_status: Option<i32>,
    /// The hooks of the configuration, run by later commands (poststart, poststop, ...).
    #[serde(default)]
    pub hooks: Option<oci_spec::runtime::Hooks>,
}

/// The OCI state document (`moat state`), as runc prints it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: &'a str,
    pub bundle: &'a str,
    pub rootfs: &'a str,
    pub created: &'a str,
    pub owner: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
}

impl State {
    pub fn oci(&self, status: &str) -> String {
        let s = OciState {
            oci_version: OCI_VERSION,
            id: &self.id,
            pid: if status == "stopped" { 0 } else { self.pid },
            status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: "",
            annotations: &self.annotations,
        };
        serde_json::to_string_pretty(&s).unwrap_or_default()
    }
}

/// Container ids as runc accepts them.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 1024
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"_+-.".contains(&c))
}

pub struct Dir {
    pub path: PathBuf,
}

impl Dir {
    pub fn of(root: &Path, id: &str) -> Result<Dir, String> {
        if !valid_id(id) {
            return Err(format!("invalid container id {id:?}"));
        }
        Ok(Dir {
            path: root.join(id),
        })
    }

    pub fn state_file(&self) -> PathBuf {
        self.path.join("state.json")
    }

    pub fn socket(&self) -> PathBuf {
        self.path.join("sandbox.sock")
    }

    pub fn exists(&self) -> bool {
        self.state_file().exists() || self.path.exists()
    }

    /// Creates the directory; fails if the id is taken.
    pub fn create(&self) -> Result<(), String> {
        if let Some(root) = self.path.parent() {
            std::fs::create_dir_all(root)
                .map_err(|e| format!("creating state root {}: {e}", root.display()))?;
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o711));
        }
        match std::fs::create_dir(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(format!("container with id {:?} already exists", self.id()))
            }
            Err(e) => Err(format!("creating {}: {e}", self.path.display())),
        }
    }

    pub fn id(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn load(&self) -> Result<State, String> {
        let data = match std::fs::read(self.state_file()) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!("container {:?} does not exist", self.id()))
            }
            Err(e) => return Err(format!("reading state of {:?}: {e}", self.id())),
        };
        serde_json::from_slice(&data).map_err(|e| format!("corrupt state of {:?}: {e}", self.id()))
    }

    /// Writes the state atomically (write + rename).
    pub fn save(&self, st: &State) -> Result<(), String> {
        let tmp = self.path.join(".state.json.tmp");
        let data = serde_json::to_vec(st).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, data).map_err(|e| format!("writing state: {e}"))?;
        std::fs::rename(&tmp, self.state_file()).map_err(|e| format!("writing state: {e}"))
    }

    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Field 22 (starttime) of /proc/PID/stat, and whether the process is a zombie.
pub fn proc_start(pid: i32) -> Option<(u64, bool)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    // After "pid (comm) ": state is field 3, starttime field 22.
    let zombie = f.first().map(|s| *s == "Z" || *s == "X").unwrap_or(true);
    Some((f.get(19)?.parse().ok()?, zombie))
}

/// Whether the sandbox process of `st` is still alive.
pub fn alive(st: &State) -> bool {
    st.pid > 0 && matches!(proc_start(st.pid), Some((start, false)) if start == st.pid_start)
}

/// The status the world should see: stopped once the sandbox process is gone.
pub fn status(st: &State) -> String {
    if st.status == "stopped" || !alive(st) {
        "stopped".into()
    } else {
        st.status.clone()
    }
}

/// Now, in RFC 3339 with nanoseconds (UTC), as runc writes `created`.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(now.as_secs() as i64, now.subsec_nanos())
}

pub fn rfc3339(secs: i64, nanos: u32) -> String {
    // SAFETY: gmtime_r fills the local struct.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        let t: libc::time_t = secs;
        libc::gmtime_r(&t, &mut tm);
        tm
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        nanos
    )
}
