//! The open-file limit: raised to the most the OS allows, and what follows from it.
//!
//! Every student is one file descriptor, so the soft `RLIMIT_NOFILE` (often 1024) is the
//! number of students the server can hold. At start the soft limit is raised to the hard one,
//! and `--max-clients` defaults to that minus [`FD_RESERVE`].

use std::io;

/// Descriptors kept back from students: the listener, the poll instance, the signal pipe, the
/// results file, log output, and room to accept (and refuse) a connection when full.
pub const FD_RESERVE: u64 = 32;

/// Raises the soft open-file limit to the hard limit; returns the soft limit now in force.
pub fn raise_nofile() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        } else {
            log::warn!(
                "cannot raise the open-file limit from {} to {}: {}",
                lim.rlim_cur,
                lim.rlim_max,
                io::Error::last_os_error()
            );
        }
    }
    Ok(lim.rlim_cur)
}

/// The default `--max-clients` for an open-file limit.
pub fn default_max_clients(nofile: u64) -> usize {
    nofile.saturating_sub(FD_RESERVE).max(1) as usize
}

/// True when an error means "no descriptors left" (per process or system-wide) or no kernel
/// memory for one: accepting must pause rather than spin.
pub fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_max_clients_keeps_a_reserve_and_is_never_zero() {
        assert_eq!(default_max_clients(20_000), 20_000 - FD_RESERVE as usize);
        assert_eq!(default_max_clients(10), 1);
    }

    #[test]
    fn emfile_and_enfile_count_as_exhaustion_but_reset_does_not() {
        assert!(is_resource_exhaustion(&io::Error::from_raw_os_error(
            libc::EMFILE
        )));
        assert!(is_resource_exhaustion(&io::Error::from_raw_os_error(
            libc::ENFILE
        )));
        assert!(!is_resource_exhaustion(&io::Error::from_raw_os_error(
            libc::ECONNABORTED
        )));
    }
}
