//! Subscriptions in both wire forms (spec/zmtp.md §12, `SUBW-*`): ZMTP 3.0 sends them as
//! single-frame messages whose first octet is 1 (subscribe) or 0 (cancel); ZMTP 3.1 sends
//! SUBSCRIBE and CANCEL commands. Which one a sender uses depends on the peer's minor version
//! (SUBW-05).
//!
//! ```text
//! subscribe-3.0 = %x00 short-size %d1 subscription     ; long size also seen for long topics
//! cancel-3.0    = %x00 short-size %d0 subscription
//! ```

use crate::command::{Cancel, Subscribe};
use crate::{Command, DecodeError, Frame, MechanismKind, Strictness};
use bytes::BufMut;

/// Subscribe or cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SubscriptionAction {
    /// Start receiving the topic.
    Subscribe,
    /// Undo one earlier subscription to the topic.
    Cancel,
}

/// Which wire form carries the subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SubscriptionForm {
    /// A ZMTP 3.0 message frame, `0x01`/`0x00` + topic.
    Message,
    /// A ZMTP 3.1 SUBSCRIBE/CANCEL command.
    Command,
}

/// A subscription change, in either wire form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Subscription<'a> {
    /// Subscribe or cancel.
    pub action: SubscriptionAction,
    /// Message or command.
    pub form: SubscriptionForm,
    /// The topic prefix.
    pub topic: &'a [u8],
}

impl<'a> Subscription<'a> {
    /// Reads a subscription from a frame in either form.
    pub fn from_frame(frame: &Frame<'a>, strictness: &Strictness) -> Result<Self, DecodeError> {
        if frame.is_command() {
            return match Command::from_frame(frame, MechanismKind::Null, strictness)? {
                Command::Subscribe(s) => Ok(Subscription {
                    action: SubscriptionAction::Subscribe,
                    form: SubscriptionForm::Command,
                    topic: s.topic,
                }),
                Command::Cancel(c) => Ok(Subscription {
                    action: SubscriptionAction::Cancel,
                    form: SubscriptionForm::Command,
                    topic: c.topic,
                }),
                _ => Err(DecodeError::NotASubscription {
                    reason: "a command other than SUBSCRIBE or CANCEL",
                }),
            };
        }
        if frame.more() && strictness.subscription_more {
            return Err(DecodeError::SubscriptionWithMore);
        }
        let action = match frame.body.first() {
            Some(1) => SubscriptionAction::Subscribe,
            Some(0) => SubscriptionAction::Cancel,
            Some(_) => {
                return Err(DecodeError::NotASubscription {
                    reason: "first octet is neither 0x01 nor 0x00",
                });
            }
            None => {
                return Err(DecodeError::NotASubscription {
                    reason: "empty message frame",
                });
            }
        };
        Ok(Subscription {
            action,
            form: SubscriptionForm::Message,
            topic: frame.body.get(1..).unwrap_or_default(),
        })
    }

    /// A subscription in the form a peer of the given minor version expects (SUBW-05).
    pub fn for_peer(action: SubscriptionAction, topic: &'a [u8], peer: crate::Version) -> Self {
        let form = if peer.has_subscription_commands() {
            SubscriptionForm::Command
        } else {
            SubscriptionForm::Message
        };
        Subscription {
            action,
            form,
            topic,
        }
    }

    /// The command form of this subscription.
    pub fn to_command(&self) -> Command<'a> {
        match self.action {
            SubscriptionAction::Subscribe => Command::Subscribe(Subscribe { topic: self.topic }),
            SubscriptionAction::Cancel => Command::Cancel(Cancel { topic: self.topic }),
        }
    }

    /// Writes this subscription as a whole frame in its form, minimal size encoding.
    pub fn encode(&self, dst: &mut impl BufMut) {
        match self.form {
            SubscriptionForm::Command => self.to_command().encode(dst),
            SubscriptionForm::Message => {
                let len = 1 + self.topic.len();
                if len > crate::frame::MAX_SHORT_SIZE {
                    dst.put_u8(crate::Flags::LONG);
                    dst.put_u64(len as u64);
                } else {
                    dst.put_u8(0);
                    dst.put_u8(len as u8);
                }
                dst.put_u8(match self.action {
                    SubscriptionAction::Subscribe => 1,
                    SubscriptionAction::Cancel => 0,
                });
                dst.put_slice(self.topic);
            }
        }
    }

    /// This subscription's frame in a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, Profile, Version};

    #[test]
    fn both_forms_match_libzmq_octets() {
        let sub31 = Subscription::for_peer(SubscriptionAction::Subscribe, b"AB", Version::V3_1);
        assert_eq!(sub31.to_vec(), b"\x04\x0c\x09SUBSCRIBEAB");
        let cancel30 = Subscription::for_peer(SubscriptionAction::Cancel, b"AB", Version::V3_0);
        assert_eq!(cancel30.to_vec(), b"\x00\x03\x00AB");
        let cfg = Config::new(Profile::Strict);
        for sub in [sub31, cancel30] {
            let bytes = sub.to_vec();
            let frame = Frame::load_exact(&bytes, &cfg).unwrap();
            assert_eq!(
                Subscription::from_frame(&frame, &cfg.strictness).unwrap(),
                sub
            );
        }
    }
}
