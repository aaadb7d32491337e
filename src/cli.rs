//! The command line: clap definitions of every command, and nothing else.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "huntbook",
    version,
    about = "Scheduled Microsoft Defender XDR hunting playbooks: query, enrich, notify."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// How log lines are written on stderr: readable text, or one JSON object per line for a log collector.
    #[arg(long, value_enum, global = true, default_value = "text")]
    pub log_format: LogFormat,
    /// More log detail (-v: debug, -vv: trace).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Less log detail (-q: warnings and errors only, -qq: errors only).
    #[arg(short = 'q', long = "quiet", action = clap::ArgAction::Count, global = true)]
    pub quiet: u8,
    /// The configuration file, also before the command (`huntbook -c FILE validate`); each command reads it.
    #[arg(short = 'c', long, value_name = "FILE", env = "HUNTBOOK_CONFIG", global = true, hide = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (colours on a terminal).
    Text,
    /// One JSON object per line, with the run's span (playbook, run id) in each.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run playbooks: the ones due by their schedule, or the ones named, or all; then deliver what they queued.
    Run(RunArgs),
    /// Run as a service: fire every playbook on its schedule, deliver all the time, serve /healthz, /readyz,
    /// /metrics and a status page on `http.listen`. SIGTERM drains and exits; SIGHUP reloads.
    Daemon(DaemonArgs),
    /// Check the configuration, every playbook, template and query, offline; report every problem.
    Validate(ConfigArgs),
    /// Run each playbook's tests: its fixtures in, the hits and messages it expects out.
    Test(TestArgs),
    /// List past runs: window, rows, new hits, messages, outcome.
    Runs(RunsArgs),
    /// Create a huntbook.yaml, a playbook with a test, templates and sample data in a directory.
    Init(InitArgs),
    /// Run a KQL query over local table files (the embedded default: no tenant needed).
    Query(QueryArgs),
    /// Serve a Graph-compatible API (sign-in, runHuntingQuery, MDE files) over local table files, for trying
    /// huntbook without a tenant; it can inject faults.
    Emulate(EmulateArgs),
    /// Inspect and act on queued and dead messages: list, show, retry, drop.
    Outbox(OutboxArgs),
    /// Write the deterministic sample tenant's tables (CloudAppEvents, FileProfile) as JSON lines.
    SampleData(SampleDataArgs),
    /// Silence hits of a playbook for a while (patching, a known test): add, list, remove.
    Silence(SilenceArgs),
    /// Print the JSON Schema of playbook files or of huntbook.yaml, for editors (yaml-language-server).
    Schema(SchemaArgs),
    /// Render every message a playbook would send into HTML pages: e-mails as a mail client shows them, Teams
    /// cards drawn by the Adaptive Cards renderer. Sends nothing, changes nothing.
    Preview(PreviewArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) or the man page.
    Completions(CompletionsArgs),
}

#[derive(Debug, clap::Args)]
pub struct SchemaArgs {
    /// Which file: playbook or config.
    #[arg(value_enum)]
    pub kind: SchemaFile,
    /// Write it to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaFile {
    /// A playbook file (playbooks/*.yaml).
    Playbook,
    /// The configuration (huntbook.yaml).
    Config,
}

#[derive(Debug, clap::Args)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The playbook (its id).
    pub playbook: String,
    /// Render what this test of the playbook sends (default: its first test; without tests, --data).
    #[arg(long, conflicts_with = "data")]
    pub test: Option<String>,
    /// Run the playbook's query over this directory of table files instead (its whole content, at --now).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// With --data: the time of the run (ISO 8601). Default: the clock.
    #[arg(long, value_name = "TIME", requires = "data")]
    pub now: Option<String>,
    /// Where to write the pages. Default: preview/PLAYBOOK under the current directory.
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Open the index in a browser.
    #[arg(long)]
    pub open: bool,
    /// Serve the pages on loopback (http://127.0.0.1:PORT/) until interrupted.
    #[arg(long, value_name = "PORT", num_args = 0..=1, default_missing_value = "0")]
    pub serve: Option<u16>,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell, or `man` for the man page (roff).
    pub shell: CompletionTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionTarget {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
    /// The man page, huntbook(1), in roff.
    Man,
}

#[derive(Debug, clap::Args)]
pub struct SilenceArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub action: SilenceAction,
}

#[derive(Debug, Subcommand)]
pub enum SilenceAction {
    /// Silence the hits of a playbook for which a KQL condition holds, until it expires: they are marked seen
    /// and recorded as silenced, and nobody hears of them.
    Add {
        /// The playbook (its id).
        #[arg(long, short = 'p')]
        playbook: String,
        /// A KQL condition over the playbook's hit columns, such as 'DeviceName == "pc-1"'.
        #[arg(long = "where", value_name = "CONDITION")]
        condition: String,
        /// How long it lasts, such as 4h, 2d or 30m.
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// Why (shown by `silence list` and kept with the silence).
        #[arg(long)]
        reason: String,
        /// Who (default: $USER).
        #[arg(long, env = "USER", hide_env_values = true)]
        author: Option<String>,
    },
    /// Silences in force (with --all, also expired and removed ones), with the hits each silenced.
    List {
        /// Also silences that expired or were removed.
        #[arg(long)]
        all: bool,
    },
    /// End a silence now.
    Remove {
        /// The silence's id (`s-…`, as `silence list` shows it).
        id: String,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// The configuration file. Default: huntbook.yaml in the current directory, or else the embedded default
    /// (the sample data in examples/data, messages written to files under outbox/).
    #[arg(short = 'c', long, value_name = "FILE", env = "HUNTBOOK_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Playbooks to run now (by id). Without names, the ones whose schedule makes them due.
    pub playbooks: Vec<String>,
    /// Run every enabled playbook now, due or not.
    #[arg(long, conflicts_with = "playbooks")]
    pub all: bool,
    /// Render what would be sent and print it; send nothing, record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Run over this past window instead of the schedule's (with --until; ISO 8601).
    #[arg(long, value_name = "TIME", requires = "until")]
    pub since: Option<String>,
    /// The end of the --since window.
    #[arg(long, value_name = "TIME", requires = "since")]
    pub until: Option<String>,
    /// How long to keep delivering after the playbooks ran (retries and paced sends due within it), such as 30s
    /// or 5m; what is left stays queued for the next run. Default: `delivery.wait` (1m).
    #[arg(long, value_name = "DURATION")]
    pub wait: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Seed of the jitter that spreads playbooks due at the same instant (the same seed, the same offsets).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Playbooks whose tests to run (by id). Default: all.
    pub playbooks: Vec<String>,
    /// Also print what each test rendered: each message's receiver, subject or title, and rows.
    #[arg(long)]
    pub show: bool,
}

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Only the runs of this playbook.
    pub playbook: Option<String>,
    /// At most this many runs, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The directory to set up (created if missing). Existing files are never overwritten.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// An aligned table with long values cut (the default on a terminal).
    Table,
    /// The Graph runHuntingQuery response: {"schema": [...], "results": [...]} (the default when piped).
    Json,
    /// One JSON object per row.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// The query text. Use -f to read it from a file instead.
    #[arg(required_unless_present = "file", conflicts_with = "file")]
    pub query: Option<String>,
    /// Read the query from this file ("-" for standard input).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Directory with one file per table: Name.jsonl, Name.json or Name.csv. Default: the data of the local
    /// source of huntbook.yaml (here, or -c), its times rebased as its `rebase_time` says; else examples/data.
    #[arg(long, value_name = "DIR", env = "HUNTBOOK_DATA")]
    pub data: Option<PathBuf>,
    /// What now() and ago() are relative to (ISO 8601, e.g. 2026-11-20T12:00:00Z). Default: the clock.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Run the query in this tenant of huntbook.yaml, through Graph, instead of over local files.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["data", "archive"])]
    pub tenant: Option<String>,
    /// Also read the archives of the state file (playbooks' `archive:`), each a table by its name, such as
    /// `isolations`; beside the files of --data.
    #[arg(long)]
    pub archive: bool,
    /// The configuration file holding the tenant (with --tenant) or naming the state file (with --archive).
    #[arg(short = 'c', long, value_name = "FILE", env = "HUNTBOOK_CONFIG")]
    pub config: Option<PathBuf>,
    /// With --tenant: Graph's Timespan, such as P7D or 2026-11-01T00:00:00Z/2026-11-02T00:00:00Z. Default: Graph's
    /// own (the last 30 days).
    #[arg(long, value_name = "TIMESPAN", requires = "tenant")]
    pub timespan: Option<String>,
    /// Output format. Default: table on a terminal, json otherwise.
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Also draw the chart the query's closing `render` asks for, as e-mails draw it, into this PNG file.
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SampleDataArgs {
    /// Directory to write CloudAppEvents.jsonl and FileProfile.jsonl into.
    #[arg(long, value_name = "DIR", default_value = "examples/data")]
    pub out: PathBuf,
    /// Number of CloudAppEvents rows.
    #[arg(long, default_value_t = 2_500)]
    pub rows: usize,
    /// Random seed: the same seed and options give byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The newest event is shortly before this instant (ISO 8601).
    #[arg(long, value_name = "TIME", default_value = "2026-11-20T12:00:00Z")]
    pub end: String,
    /// Days of activity, ending at --end.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
}

#[derive(Debug, clap::Args)]
pub struct EmulateArgs {
    /// Directory with one file per table (CloudAppEvents.jsonl, FileProfile.jsonl, ...).
    #[arg(long, value_name = "DIR", env = "HUNTBOOK_DATA", default_value = "examples/data")]
    pub data: PathBuf,
    /// The address to listen on; port 0 picks a free port (the first line printed gives the URL).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Shift the data's times so that its newest row is one hour old.
    #[arg(long)]
    pub rebase_time: bool,
    /// What now() is (ISO 8601). Default: the clock.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Only this application (client) id may sign in. Default: any.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The client secret to accept. With neither this nor --certificate, any credential is accepted.
    #[arg(long, value_name = "SECRET", env = "HUNTBOOK_EMULATOR_SECRET", hide_env_values = true)]
    pub client_secret: Option<String>,
    /// A PEM certificate: client assertions must be signed by its key and name it by x5t#S256.
    #[arg(long, value_name = "FILE")]
    pub certificate: Option<PathBuf>,
    /// Serve the App Service managed-identity endpoint /msi/token, expecting this X-IDENTITY-HEADER.
    #[arg(long, value_name = "VALUE")]
    pub identity_header: Option<String>,
    /// Accept workload identity federation: client assertions that are this Kubernetes service account's token
    /// (its `sub`, such as system:serviceaccount:soc:huntbook) for the audience api://AzureADTokenExchange.
    #[arg(long, value_name = "SUBJECT")]
    pub federated_subject: Option<String>,
    /// Seconds the issued tokens live (expires_in).
    #[arg(long, value_name = "SECONDS", default_value_t = 3599)]
    pub token_lifetime: u64,
    /// Hunting calls a token is good for before it is refused as expired. Default: unlimited.
    #[arg(long, value_name = "N")]
    pub token_uses: Option<u32>,
    /// Fail hunting calls: CODE:RATE fails that share at random (429:0.2,503:0.05), CODE*N the first N (401*1).
    #[arg(long, value_name = "SPEC", default_value = "")]
    pub fail: String,
    /// Fail MDE files API calls (/api/files), with the same SPEC as --fail (403*1, 429:0.5, …).
    #[arg(long, value_name = "SPEC", default_value = "")]
    pub fail_files: String,
    /// The Retry-After header of 429 and 503 answers, sent as given: seconds (2, 2.5) or an HTTP date.
    #[arg(long, value_name = "VALUE")]
    pub retry_after: Option<String>,
    /// Milliseconds to wait before answering a hunting call.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency: u64,
    /// The share of successful hunting answers whose body is cut off halfway (0 to 1).
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    pub truncate_body: f64,
    /// Seed of the random faults: the same seed, the same faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Rows a result may have (Graph's cap).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub row_limit: usize,
}

#[derive(Debug, clap::Args)]
pub struct OutboxArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(subcommand)]
    pub action: OutboxAction,
}

#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Messages newest first: queued and dead ones (with --all, sent ones too).
    List {
        /// Only the dead messages (given up on).
        #[arg(long, conflicts_with = "all")]
        dead: bool,
        /// Sent messages too.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One message: its state, attempts, last error, the server's answer, and its content.
    Show {
        /// The message id (a unique prefix is enough).
        id: String,
    },
    /// Put dead messages back in the queue and deliver them now.
    Retry {
        /// Message ids (unique prefixes are enough).
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        ids: Vec<String>,
        /// Every dead message.
        #[arg(long)]
        all_dead: bool,
        /// How long to keep delivering, such as 30s. Default: `delivery.wait` (1m).
        #[arg(long, value_name = "DURATION")]
        wait: Option<String>,
    },
    /// Delete messages from the outbox, whatever their state: they will never be sent.
    Drop {
        /// Message ids (unique prefixes are enough).
        #[arg(required = true)]
        ids: Vec<String>,
    },
}
