//! What a controlling or annotating agent does on the user's page: inputs and strokes, with the
//! checks the server can make before passing them on (the page checks targets and origins).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum NavigateTo {
    Back,
    Forward,
    Reload,
    Url,
}

/// One input of a controlling agent on the user's page. Coordinates are CSS pixels of the user's
/// viewport; `id` is the target's rrweb node id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ControlInput {
    Move {
        x: f64,
        y: f64,
    },
    Click {
        id: u64,
        x: f64,
        y: f64,
    },
    Dblclick {
        id: u64,
        x: f64,
        y: f64,
    },
    Scroll {
        #[serde(default)]
        #[ts(optional = nullable)]
        id: Option<u64>,
        x: f64,
        y: f64,
    },
    Key {
        key: String,
        #[serde(default)]
        #[ts(optional = nullable)]
        id: Option<u64>,
    },
    Input {
        id: u64,
        value: String,
    },
    Select {
        id: u64,
        value: String,
    },
    Focus {
        id: u64,
    },
    Navigate {
        to: NavigateTo,
        #[serde(default)]
        #[ts(optional = nullable)]
        url: Option<String>,
    },
}

/// Named keys an agent may press; any single character is allowed too.
pub const NAMED_KEYS: [&str; 10] = [
    "Enter",
    "Tab",
    "Backspace",
    "Delete",
    "Escape",
    "ArrowLeft",
    "ArrowRight",
    "ArrowUp",
    "ArrowDown",
    " ",
];
/// The longest `value` an `input` or `select` may carry, in characters.
pub const MAX_INPUT_CHARS: usize = 4096;
/// The longest `url` a `navigate` may carry, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// The most points one stroke may have.
pub const MAX_STROKE_POINTS: usize = 1000;
/// The longest stroke id, in bytes: a page keeps strokes by id, so ids stay small.
pub const MAX_STROKE_ID_BYTES: usize = 64;

impl ControlInput {
    pub fn action(&self) -> &'static str {
        match self {
            Self::Move { .. } => "move",
            Self::Click { .. } => "click",
            Self::Dblclick { .. } => "dblclick",
            Self::Scroll { .. } => "scroll",
            Self::Key { .. } => "key",
            Self::Input { .. } => "input",
            Self::Select { .. } => "select",
            Self::Focus { .. } => "focus",
            Self::Navigate { .. } => "navigate",
        }
    }

    /// Checks what the server can check; the page checks the rest (targets, origins).
    pub fn validate(&self) -> Result<(), String> {
        let finite = |values: &[f64]| values.iter().all(|v| v.is_finite());
        match self {
            Self::Move { x, y }
            | Self::Click { x, y, .. }
            | Self::Dblclick { x, y, .. }
            | Self::Scroll { x, y, .. }
                if !finite(&[*x, *y]) =>
            {
                Err("coordinates must be finite numbers".into())
            }
            Self::Key { key, .. }
                if key.chars().count() != 1 && !NAMED_KEYS.contains(&key.as_str()) =>
            {
                Err(format!(
                    "key '{}' is not a single character or one of {NAMED_KEYS:?}",
                    key.chars().take(16).collect::<String>()
                ))
            }
            Self::Input { value, .. } | Self::Select { value, .. }
                if value.chars().count() > MAX_INPUT_CHARS =>
            {
                Err(format!("value is over {MAX_INPUT_CHARS} characters"))
            }
            Self::Navigate {
                to: NavigateTo::Url,
                url,
            } => match url {
                Some(url) if !url.is_empty() && url.len() <= MAX_URL_BYTES => Ok(()),
                _ => Err(format!(
                    "navigate to a url needs a url of 1-{MAX_URL_BYTES} bytes"
                )),
            },
            _ => Ok(()),
        }
    }

    /// The input as the audit trail keeps it: what was typed is not repeated there (inputs are
    /// masked in the recording too), only how much.
    pub fn audit(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).expect("control inputs serialize");
        match self {
            Self::Input { value: typed, .. } => {
                value["value"] = serde_json::json!({"chars": typed.chars().count()});
            }
            // A typed character is kept as "a character"; named keys (Enter, Tab, …) as they are.
            Self::Key { key, .. } if !NAMED_KEYS.contains(&key.as_str()) || key == " " => {
                value["key"] = serde_json::json!({"chars": 1});
            }
            _ => {}
        }
        value
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum StrokeTool {
    Pen,
    Arrow,
    Rect,
    Laser,
}

/// An annotation stroke; points are page coordinates (CSS pixels from the document's top-left),
/// so the stroke stays on what it marks when the page scrolls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Stroke {
    pub id: String,
    pub tool: StrokeTool,
    pub color: String,
    pub points: Vec<[f64; 2]>,
}

impl Stroke {
    pub fn validate(&self) -> Result<(), String> {
        if self.id.is_empty() || self.id.len() > MAX_STROKE_ID_BYTES {
            return Err(format!("stroke id must be 1-{MAX_STROKE_ID_BYTES} bytes"));
        }
        let hex = self.color.len() == 7
            && self.color.starts_with('#')
            && self.color[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if !hex {
            return Err("stroke color must be #rrggbb".into());
        }
        if self.points.is_empty() || self.points.len() > MAX_STROKE_POINTS {
            return Err(format!("a stroke has 1-{MAX_STROKE_POINTS} points"));
        }
        if !self.points.iter().flatten().all(|v| v.is_finite()) {
            return Err("stroke points must be finite numbers".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ControlInput;

    #[test]
    fn the_audit_trail_keeps_how_much_was_typed_not_what() {
        let typed = ControlInput::Key {
            key: "s".into(),
            id: Some(3),
        };
        assert_eq!(typed.audit()["key"], serde_json::json!({"chars": 1}));
        let enter = ControlInput::Key {
            key: "Enter".into(),
            id: None,
        };
        assert_eq!(enter.audit()["key"], "Enter");
        let input = ControlInput::Input {
            id: 3,
            value: "secret".into(),
        };
        assert_eq!(input.audit()["value"], serde_json::json!({"chars": 6}));
    }
}
