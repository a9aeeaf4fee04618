use std::path::PathBuf;
use std::process::ExitCode;
use std::time::SystemTime;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::EXIT_REJECTED;
use crate::config::Config;
use crate::store::sqlite::SqliteOptions;
use crate::store::{EventId, EventRecord, ListFilter, RetryOutcome, SqliteStore, State, Store};

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// The configuration file naming the data directory (as for `ferry serve`).
    #[arg(long, env = crate::config::CONFIG_VAR, global = true)]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: EventsCommand,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// List stored deliveries, newest first.
    List {
        /// Only these states (repeat or comma-separate): pending, running, done, failed,
        /// dead, ignored.
        #[arg(long, value_delimiter = ',')]
        state: Vec<State>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show one delivery: its fields, last error and (with --body) its stored body.
    Show {
        id: i64,
        #[arg(long)]
        body: bool,
    },
    /// Queue a dead delivery again with a fresh attempt count.
    Retry { id: i64 },
}

impl clap::ValueEnum for State {
    fn value_variants<'a>() -> &'a [Self] {
        &State::ALL
    }
    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

pub fn run(args: EventsArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    let queue = config.queue_path();
    if !queue.exists() {
        anyhow::bail!(
            "no queue at {}; `ferry serve` creates it in store.data_dir (set it with --config or FERRY_STORE__DATA_DIR)",
            queue.display()
        );
    }
    let store = SqliteStore::open(&queue, &SqliteOptions::from(&config.store))
        .with_context(|| format!("cannot open the queue {}", queue.display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(execute(&store, args.command))
}

async fn execute(store: &SqliteStore, command: EventsCommand) -> anyhow::Result<ExitCode> {
    match command {
        EventsCommand::List { state, limit } => {
            let records = store
                .list(ListFilter {
                    states: state,
                    limit,
                })
                .await?;
            outln!(
                "{:>8}  {:<8}  {:<6}  {:<20}  {:<30}  {:>3}  {:<20}  LAST ERROR",
                "ID",
                "STATE",
                "FORGE",
                "EVENT",
                "REPOSITORY",
                "TRY",
                "RECEIVED"
            );
            for record in records {
                outln!(
                    "{:>8}  {:<8}  {:<6}  {:<20}  {:<30}  {:>3}  {:<20}  {}",
                    record.id,
                    record.state,
                    record.forge,
                    record.event_type,
                    record.repository.as_deref().unwrap_or("-"),
                    record.attempts,
                    time(record.received_at),
                    first_line(record.last_error.as_deref().unwrap_or(""))
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        EventsCommand::Show { id, body } => {
            let Some(record) = store.get(EventId(id)).await? else {
                anyhow::bail!("no delivery {id}; `ferry events list` shows the ids");
            };
            print_record(&record);
            let commands = store.commands_of(EventId(id)).await?;
            if !commands.is_empty() {
                outln!("commands:");
                for command in commands {
                    outln!(
                        "  line {:<4} {:<8} {:<7} {}",
                        command.line,
                        command.state.as_str(),
                        format!("#{}", command.id),
                        command.text
                    );
                }
            }
            if body && let Some(bytes) = store.body(EventId(id)).await? {
                outln!("body:");
                outln!("{}", String::from_utf8_lossy(&bytes));
            }
            Ok(ExitCode::SUCCESS)
        }
        EventsCommand::Retry { id } => match store.retry(EventId(id)).await? {
            RetryOutcome::Requeued => {
                outln!(
                    "delivery {id} is queued again; a running `ferry serve` picks it up within workers.poll_interval_ms"
                );
                Ok(ExitCode::SUCCESS)
            }
            RetryOutcome::NotFound => {
                anyhow::bail!("no delivery {id}; `ferry events list --state dead` shows the ids")
            }
            RetryOutcome::NotRetryable { state, reason } => {
                eprintln!("delivery {id} is {state} and cannot be retried: {reason}");
                Ok(ExitCode::from(EXIT_REJECTED))
            }
        },
    }
}

fn print_record(record: &EventRecord) {
    let optional_time =
        |time: Option<SystemTime>| time.map(self::time).unwrap_or_else(|| "-".to_owned());
    outln!("id:              {}", record.id);
    outln!("forge:           {}", record.forge);
    outln!("delivery id:     {}", record.delivery_id);
    outln!("event:           {}", record.event_type);
    outln!(
        "repository:      {}",
        record.repository.as_deref().unwrap_or("-")
    );
    outln!("state:           {}", record.state);
    outln!("attempts:        {}", record.attempts);
    outln!("received:        {}", time(record.received_at));
    outln!("next attempt:    {}", optional_time(record.next_attempt_at));
    outln!("finished:        {}", optional_time(record.finished_at));
    outln!(
        "leased by:       {}",
        record.claimed_by.as_deref().unwrap_or("-")
    );
    outln!("lease until:     {}", optional_time(record.lease_until));
    outln!("body:            {} bytes", record.body_len);
    outln!(
        "last error:      {}",
        record.last_error.as_deref().unwrap_or("-")
    );
}

fn time(time: SystemTime) -> String {
    jiff::Timestamp::try_from(time)
        .map(|timestamp| timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| "?".to_owned())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}
