//! Golden vectors (`vectors/`): loading and checking them against the codec.
