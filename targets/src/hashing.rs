//! Password checks on a fixed set of threads, each hashing into argon2 memory it allocated once.
//!
//! argon2id at the OWASP cost fills 19 MiB per hash. Allocated per login on tokio's blocking
//! pool, those buffers ended up retained by the allocator's per-thread arenas: a target that
//! needs `threads` × 19 MiB for hashing sat at ~870 MB after one login storm. Here `threads`
//! workers each own one buffer for the life of the process, so hashing memory is exactly
//! `threads` × the configured cost, whatever the storm. Logins wait in a bounded queue; a full
//! queue is refused at once (503 + Retry-After) rather than left to pile up.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use argon2::Block;
use tokio::sync::oneshot;

use crate::users::Directory;

/// One login's password check, answered through `reply` with the user's id when it matched.
struct Job {
    username: String,
    password: String,
    reply: oneshot::Sender<Option<u64>>,
}

/// Why a password check did not produce an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("too many logins waiting for a password-hashing thread")]
    Busy,
    #[error("password-hashing threads stopped")]
    Stopped,
}

/// The hashing threads' queue; dropping it lets the threads finish their job and exit.
pub struct Hashers {
    jobs: SyncSender<Job>,
    threads: usize,
}

impl Hashers {
    /// Starts `threads` hashing threads (at least one) sharing a queue of `max_waiting` places.
    pub fn start(users: Arc<Directory>, threads: usize, max_waiting: usize) -> std::io::Result<Hashers> {
        let threads = threads.max(1);
        let (jobs, queue) = mpsc::sync_channel::<Job>(max_waiting);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads {
            let (users, queue) = (Arc::clone(&users), Arc::clone(&queue));
            std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || work(&users, &queue))?;
        }
        Ok(Hashers { jobs, threads })
    }

    /// How many hashes can run at once (and how many argon2 buffers the process holds).
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Checks a password on a hashing thread. A caller that stops waiting (a client that went
    /// away) does not stop the hash: the thread finishes it and drops the answer.
    pub async fn check(&self, username: String, password: String) -> Result<Option<u64>, HashError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.try_send(Job { username, password, reply }).map_err(|e| match e {
            TrySendError::Full(_) => HashError::Busy,
            TrySendError::Disconnected(_) => HashError::Stopped,
        })?;
        answer.await.map_err(|_| HashError::Stopped)
    }
}

/// One hashing thread: its argon2 memory allocated once, then jobs until the queue closes.
fn work(users: &Directory, queue: &Mutex<Receiver<Job>>) {
    let mut memory = vec![Block::default(); users.hash_blocks()];
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let next = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else { return };
        let id = users.check_password(&job.username, &job.password, &mut memory).map(|u| u.id);
        // The caller may have gone away; its answer is then not needed.
        let _ = job.reply.send(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashers(threads: usize, waiting: usize, m_kib: u32) -> Hashers {
        let users = Arc::new(Directory::seeded(4, m_kib, 1, 1).unwrap());
        Hashers::start(users, threads, waiting).unwrap()
    }

    #[tokio::test]
    async fn answers_right_and_wrong_passwords() {
        let h = hashers(2, 4, 256);
        assert_eq!(h.check("user1".into(), "pass-1".into()).await, Ok(Some(1)));
        assert_eq!(h.check("user1".into(), "pass-2".into()).await, Ok(None));
        assert_eq!(h.check("nobody".into(), "pass-1".into()).await, Ok(None));
        assert_eq!(h.threads(), 2);
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_and_the_rest_are_answered() {
        // One thread and one waiting place: of 32 logins sent together (a few microseconds apart,
        // each hash of 8 MiB taking milliseconds), some must be refused, and every admitted one
        // is answered.
        let h = Arc::new(hashers(1, 1, 8192));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let h = Arc::clone(&h);
                tokio::spawn(async move { h.check("user2".into(), "pass-2".into()).await })
            })
            .collect();
        let mut answered = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(Some(2)) => answered += 1,
                Err(HashError::Busy) => busy += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(answered >= 1 && busy >= 1, "answered {answered}, refused {busy}");
        assert_eq!(answered + busy, 32);
    }
}
