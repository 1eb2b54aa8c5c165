//! The requirement registry (`spec/requirements.toml`).
