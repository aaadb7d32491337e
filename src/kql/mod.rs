//! The local KQL engine.
pub mod ast;
pub mod datetime;
pub mod error;
pub mod lexer;
pub mod parser;
pub mod schema;
pub mod span;
pub mod types;
pub mod value;
