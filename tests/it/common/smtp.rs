//! A real SMTP server on loopback for the tests: `mailin-embedded`, with STARTTLS on a certificate made at
//! test time (by rcgen, signed by a test authority whose PEM the client is given as `smtp.ca_file`), AUTH
//! PLAIN/LOGIN with one user, and every accepted message recorded with its envelope. It can answer 451 to the
//! first N messages (at MAIL FROM), and it can hold the Nth message's "250 OK" until the test lets it go (to kill a client at
//! the moment the server has taken a message).

use std::net::{IpAddr, Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use mailin_embedded::response::{AUTH_OK, INTERNAL_ERROR, INVALID_CREDENTIALS, OK};
use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig};

pub const USER: &str = "huntbook@contoso.example";
pub const PASSWORD: &str = "correct horse battery staple";

/// A message the server accepted.
#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Default)]
struct Shared {
    received: Vec<Received>,
    /// Messages still to refuse with 451.
    refuse: usize,
    /// The accepted message count at which to hold the answer, and whether it is held now.
    hold_at: Option<usize>,
    held: bool,
    released: bool,
    /// Sign-ins tried: (user, whether it succeeded).
    logins: Vec<(String, bool)>,
    echo_credentials: bool,
}

#[derive(Clone)]
struct Recorder {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Recorder {
    fn login(&mut self, user: &str, password: &str) -> Response {
        let ok = user == USER && password == PASSWORD;
        let mut shared = self.shared.0.lock().expect("lock");
        shared.logins.push((user.to_string(), ok));
        match (ok, shared.echo_credentials) {
            (true, _) => AUTH_OK,
            (false, false) => INVALID_CREDENTIALS,
            (false, true) => {
                use base64::Engine;
                let blob = base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
                Response::custom(535, format!("5.7.8 {user} with {password} ({blob}) is not allowed"))
            }
        }
    }
}

impl Handler for Recorder {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        // Refusals come at MAIL FROM: mailin stays in its DATA state after a refusal at the end of DATA, which
        // would leave a client waiting for an answer that never comes.
        let mut shared = self.shared.0.lock().expect("lock");
        if shared.held {
            return INTERNAL_ERROR;
        }
        if shared.refuse > 0 {
            shared.refuse -= 1;
            return INTERNAL_ERROR;
        }
        drop(shared);
        self.from = from.to_string();
        self.to.clear();
        self.data.clear();
        OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        self.to.push(to.to_string());
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let (lock, wake) = &*self.shared;
        let mut shared = lock.lock().expect("lock");
        while shared.held {
            // Another message, sent while one is held: it waits with it (its client is killed meanwhile).
            shared = wake.wait(shared).expect("lock");
        }
        shared.received.push(Received { from: self.from.clone(), to: self.to.clone(), data: self.data.clone() });
        if shared.hold_at == Some(shared.received.len()) {
            shared.held = true;
            wake.notify_all();
            while !shared.released {
                shared = wake.wait(shared).expect("lock");
            }
        }
        OK
    }

    fn auth_plain(&mut self, _authorization_id: &str, authentication_id: &str, password: &str) -> Response {
        self.login(authentication_id, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        self.login(username, password)
    }
}

/// A test authority and a server certificate for 127.0.0.1 and localhost that it signed, as PEM files.
pub struct Certificates {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub fn certificates() -> Certificates {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, SanType};
    let dir = tempfile::tempdir().expect("temp dir");
    let ca_key = KeyPair::generate().expect("key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "huntbook test authority");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    let cert = params.signed_by(&key, &issuer).expect("cert");
    let paths = Certificates {
        ca: dir.path().join("ca.pem"),
        cert: dir.path().join("server.pem"),
        key: dir.path().join("server.key"),
        dir,
    };
    std::fs::write(&paths.ca, ca.pem()).expect("write");
    std::fs::write(&paths.cert, cert.pem()).expect("write");
    std::fs::write(&paths.key, key.serialize_pem()).expect("write");
    paths
}

pub struct SmtpServer {
    pub port: u16,
    shared: Arc<(Mutex<Shared>, Condvar)>,
    pub certificates: Option<Arc<Certificates>>,
}

/// How the server behaves.
#[derive(Clone, Default)]
pub struct Options {
    /// STARTTLS with these certificates, and AUTH PLAIN/LOGIN (only offered after STARTTLS).
    pub tls: Option<Arc<Certificates>>,
    /// Answer 451 to this many messages first.
    pub refuse_first: usize,
    /// Hold the answer to the Nth accepted message until `release`.
    pub hold_at: Option<usize>,
    /// A refused sign-in's answer repeats the credentials, raw and as the AUTH PLAIN blob.
    pub echo_credentials: bool,
}

/// A free port on loopback, with nothing listening on it (yet).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl SmtpServer {
    pub fn start(options: Options) -> SmtpServer {
        // Port 0, not `free_port()`: a port found free and bound later can be taken meanwhile by a test running
        // beside this one that waits for it (`start_on`).
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP port");
        Self::serve(listener, options)
    }

    /// Starts listening on `port` (one found by `free_port`, to test a server that comes up late).
    pub fn start_on(port: u16, options: Options) -> SmtpServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind the SMTP port");
        Self::serve(listener, options)
    }

    fn serve(listener: TcpListener, options: Options) -> SmtpServer {
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new((
            Mutex::new(Shared {
                refuse: options.refuse_first,
                hold_at: options.hold_at,
                echo_credentials: options.echo_credentials,
                ..Shared::default()
            }),
            Condvar::new(),
        ));
        let handler = Recorder { shared: Arc::clone(&shared), from: String::new(), to: Vec::new(), data: Vec::new() };
        let mut server = Server::new(handler);
        server.with_name("smtp.test").with_num_threads(4).with_tcp_listener(listener);
        match &options.tls {
            Some(certificates) => {
                server
                    .with_ssl(SslConfig::SelfSigned {
                        cert_path: certificates.cert.display().to_string(),
                        key_path: certificates.key.display().to_string(),
                    })
                    .expect("TLS set up")
                    .with_auth(AuthMechanism::Plain)
                    .with_auth(AuthMechanism::Login);
            }
            None => {
                server.with_ssl(SslConfig::None).expect("no TLS");
            }
        }
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        SmtpServer { port, shared, certificates: options.tls }
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.0.lock().expect("lock").received.clone()
    }

    pub fn logins(&self) -> Vec<(String, bool)> {
        self.shared.0.lock().expect("lock").logins.clone()
    }

    /// Blocks until the held message has been taken (its "250 OK" not yet sent).
    pub fn wait_until_held(&self) {
        let (lock, wake) = &*self.shared;
        let shared = lock.lock().expect("lock");
        let (shared, waited) =
            wake.wait_timeout_while(shared, Duration::from_secs(120), |shared| !shared.held).expect("lock");
        assert!(!waited.timed_out() && shared.held, "the server never got the message to hold");
    }

    /// Lets the held answer go, and takes messages again.
    pub fn release(&self) {
        let (lock, wake) = &*self.shared;
        let mut shared = lock.lock().expect("lock");
        shared.released = true;
        shared.held = false;
        shared.hold_at = None;
        wake.notify_all();
    }
}
