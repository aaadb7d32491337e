//! Rendering messages for people: HTML e-mails (`email`), Teams Adaptive Cards (`card`), and the portal
//! links both put in them (`links`). Nothing from a hit reaches the output unescaped.

pub mod card;
pub mod chart;
pub mod email;
pub mod links;
pub mod visible;
