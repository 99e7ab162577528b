//! Supervision of the gateway's long-lived tasks, in one place.
//!
//! Every task that lives as long as the gateway (a listener, the dispatcher, the deadline
//! scheduler, the campaign worker, an M3UA association, the TCAP dispatcher, an SMPP bind, an
//! outbox sender) is a [`Task`]: a name and a way to start it given its stop signal. The
//! [`Supervisor`] owns them all in one `JoinSet` per [`Stage`]: a task that panics is logged,
//! counted and started again after a back-off (100 ms, doubling up to
//! [`MAX_BACKOFF`]); a task that returns has finished. [`Supervisor::shutdown`] stops the
//! stages in order, so nothing is cut off mid-way: first the intake (no new request comes
//! in), then the work (in-flight transactions finish), then the links (binds unbound,
//! associations taken down).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::telemetry::names;

/// The longest pause before a task that keeps panicking is started again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// How long a stage may take to stop before what is left of it is aborted.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// When a task stops, in shutdown order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// What takes requests in: the HTTP servers, the OSPP handler. Stopped first.
    Intake,
    /// What works on them: the dispatcher, the scheduler, the campaign worker, the outbox
    /// senders. Stopped once nothing new comes in, after finishing what they hold.
    Work,
    /// The links the work uses: SMPP binds, M3UA associations, the TCAP dispatcher. Stopped
    /// last (unbind, ASPDN).
    Links,
}

impl Stage {
    const ALL: [Stage; 3] = [Stage::Intake, Stage::Work, Stage::Links];

    fn index(self) -> usize {
        match self {
            Stage::Intake => 0,
            Stage::Work => 1,
            Stage::Links => 2,
        }
    }
}

/// A boxed task body.
pub type TaskFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A long-lived task: its name, its stage and how to start it (again) given its stop signal.
pub struct Task {
    name: String,
    stage: Stage,
    start: Box<dyn FnMut(watch::Receiver<bool>) -> TaskFuture + Send + 'static>,
}

impl std::fmt::Debug for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.name)
            .field("stage", &self.stage)
            .finish()
    }
}

impl Task {
    /// A task that `start` starts, and starts again after a panic. It should return once its
    /// stop signal turns true.
    pub fn new<F, Fut>(name: impl Into<String>, stage: Stage, mut start: F) -> Self
    where
        F: FnMut(watch::Receiver<bool>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self {
            name: name.into(),
            stage,
            start: Box::new(move |stop| Box::pin(start(stop))),
        }
    }

    /// A task that can run only once (it owns what it serves, a bound listener): after a
    /// panic it is not started again, and the supervisor says so.
    pub fn once<Fut>(
        name: impl Into<String>,
        stage: Stage,
        run: impl FnOnce(watch::Receiver<bool>) -> Fut + Send + 'static,
    ) -> Self
    where
        Fut: Future<Output = ()> + Send + 'static,
    {
        let name = name.into();
        let mut run = Some(run);
        let label = name.clone();
        Self::new(name, stage, move |stop| {
            let run = run.take();
            let label = label.clone();
            async move {
                match run {
                    Some(run) => run(stop).await,
                    None => tracing::error!(task = %label, "cannot be started again after a panic"),
                }
            }
        })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A task handle that aborts its task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct StageTasks {
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

/// The gateway's long-lived tasks. See the [module documentation](self).
pub struct Supervisor {
    stages: [StageTasks; 3],
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let running: Vec<usize> = self.stages.iter().map(|s| s.tasks.len()).collect();
        f.debug_struct("Supervisor")
            .field("running", &running)
            .finish()
    }
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    /// A supervisor with no task yet.
    pub fn new() -> Self {
        let stage = || StageTasks {
            stop: watch::channel(false).0,
            tasks: JoinSet::new(),
        };
        Self {
            stages: [stage(), stage(), stage()],
        }
    }

    /// Runs `task` until its stage stops, starting it again if it panics.
    pub fn spawn(&mut self, mut task: Task) {
        let stage = &mut self.stages[task.stage.index()];
        let mut stop = stage.stop.subscribe();
        stage.tasks.spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                // Aborted with the supervising task, so a shutdown that gives up on a stage
                // leaves nothing running behind it.
                let mut run = AbortOnDrop(tokio::spawn((task.start)(stop.clone())));
                match (&mut run.0).await {
                    Ok(()) => return,
                    Err(e) if e.is_cancelled() => return,
                    Err(e) => {
                        tracing::error!(task = %task.name, error = %e, "task died; starting it again");
                        metrics::counter!(names::TASK_RESTARTS, "task" => task.name.clone())
                            .increment(1);
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        });
    }

    /// Tasks running, all stages together.
    pub fn len(&self) -> usize {
        self.stages.iter().map(|s| s.tasks.len()).sum()
    }

    /// Whether no task runs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops one stage: its tasks are told to stop and waited for, at most [`STOP_GRACE`];
    /// what is still running then is aborted, and said so.
    pub async fn stop_stage(&mut self, stage: Stage) {
        let StageTasks { stop, tasks } = &mut self.stages[stage.index()];
        let _ = stop.send(true);
        let drained = tokio::time::timeout(STOP_GRACE, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                ?stage,
                left = tasks.len(),
                "tasks did not stop in time; aborting them"
            );
            tasks.shutdown().await;
        }
    }

    /// Stops the stages in order: intake, work, links ([`Stage`]).
    pub async fn shutdown(mut self) {
        for stage in Stage::ALL {
            self.stop_stage(stage).await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;

    #[tokio::test]
    async fn a_task_that_panics_is_started_again() {
        let starts = Arc::new(AtomicUsize::new(0));
        let mut sup = Supervisor::new();
        let counted = starts.clone();
        sup.spawn(Task::new("flaky", Stage::Work, move |mut stop| {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    panic!("start {n} fails");
                }
                let _ = stop.wait_for(|s| *s).await;
            }
        }));
        tokio::time::timeout(Duration::from_secs(5), async {
            while starts.load(Ordering::SeqCst) < 3 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .unwrap();
        sup.shutdown().await;
        assert_eq!(starts.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn stages_stop_in_order_intake_work_links() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut sup = Supervisor::new();
        for (name, stage) in [
            ("links", Stage::Links),
            ("intake", Stage::Intake),
            ("work", Stage::Work),
        ] {
            let order = order.clone();
            sup.spawn(Task::new(name, stage, move |mut stop| {
                let order = order.clone();
                async move {
                    let _ = stop.wait_for(|s| *s).await;
                    order.lock().unwrap().push(name);
                }
            }));
        }
        assert_eq!(sup.len(), 3);
        sup.shutdown().await;
        assert_eq!(*order.lock().unwrap(), ["intake", "work", "links"]);
    }

    #[tokio::test]
    async fn a_once_task_is_not_started_twice() {
        let starts = Arc::new(AtomicUsize::new(0));
        let mut sup = Supervisor::new();
        let counted = starts.clone();
        sup.spawn(Task::once(
            "listener",
            Stage::Intake,
            move |_stop| async move {
                counted.fetch_add(1, Ordering::SeqCst);
                panic!("the listener fails");
            },
        ));
        tokio::time::sleep(Duration::from_millis(400)).await;
        sup.shutdown().await;
        assert_eq!(starts.load(Ordering::SeqCst), 1);
    }
}
