//! The server's memory as a run goes, read from Linux's `/proc/PID/status`: its RSS before the
//! first connect, again when the most students are connected (or at the hold point), and its
//! peak at the end, turned into the report's [`ServerMemory`]. Elsewhere than Linux, or when
//! the process cannot be read, the figures are 0.

use super::report::ServerMemory;

/// The server's memory as the run goes.
pub(crate) struct MemoryWatch {
    pid: u32,
    before: u64,
    loaded: u64,
    loaded_connections: usize,
}

impl MemoryWatch {
    /// Reads the RSS of process `pid` before anyone connects.
    pub fn start(pid: u32) -> MemoryWatch {
        MemoryWatch {
            pid,
            before: proc_status(pid, "VmRSS:").unwrap_or(0),
            loaded: 0,
            loaded_connections: 0,
        }
    }

    /// Reads VmRSS now if `connections` is the most seen so far (or `force`: the hold point).
    pub fn sample(&mut self, connections: usize, force: bool) {
        if (force || connections > self.loaded_connections)
            && let Some(rss) = proc_status(self.pid, "VmRSS:")
        {
            self.loaded = rss;
            self.loaded_connections = connections;
        }
    }

    /// The figures at the end of the run, with the peak read now.
    pub fn finish(&self) -> ServerMemory {
        ServerMemory {
            before: self.before,
            loaded: self.loaded,
            loaded_connections: self.loaded_connections,
            // The kernel updates VmHWM lazily (on unmap, exit...), so it can read lower than
            // an RSS sampled earlier in the run: the peak is at least every sample.
            peak: proc_status(self.pid, "VmHWM:")
                .unwrap_or(0)
                .max(self.loaded)
                .max(self.before),
            per_student: (self.loaded as f64 - self.before as f64)
                / self.loaded_connections.max(1) as f64,
        }
    }
}

/// A `kB` field of `/proc/PID/status` (`"VmRSS:"`, `"VmHWM:"`), in bytes; `None` where it
/// cannot be read (not Linux, no such process).
pub fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}
