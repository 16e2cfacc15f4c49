//! `a=` lines, and the accessors both levels (session and media) share.

use std::fmt;

/// One `a=` line: `a=name` (a flag) or `a=name:value`.
///
/// Every attribute is kept, in order, whether this crate knows it or not,
/// so that a description round-trips.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// The name, e.g. `ice-ufrag`, `rtpmap`.
    pub name: String,
    /// Everything after the first `:`; `None` for a flag such as `a=rtcp-mux`.
    pub value: Option<String>,
}

impl Attribute {
    /// `a=name:value`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Attribute { name: name.into(), value: Some(value.into()) }
    }

    /// `a=name`, a property attribute.
    pub fn flag(name: impl Into<String>) -> Self {
        Attribute { name: name.into(), value: None }
    }

    /// Parses the text after `a=`.
    pub(crate) fn parse(text: &str) -> Self {
        match text.split_once(':') {
            Some((name, value)) => Attribute::new(name, value),
            None => Attribute::flag(text),
        }
    }
}

impl fmt::Display for Attribute {
    /// Writes the text after `a=`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::write_field(f, &self.name)?;
        if let Some(v) = &self.value {
            f.write_str(":")?;
            crate::write_field(f, v)?;
        }
        Ok(())
    }
}

/// Inherent methods that session and media level share: generic access to
/// the attribute list and the ICE and DTLS attributes JSEP allows at both.
macro_rules! attribute_methods {
    ($ty:ty) => {
        impl $ty {
            /// The value of the first attribute named `name` (ASCII
            /// case-insensitive); `Some("")` for a flag.
            pub fn attribute(&self, name: &str) -> Option<&str> {
                self.attributes
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(name))
                    .map(|a| a.value.as_deref().unwrap_or(""))
            }

            /// The values of every attribute named `name`, in order (`""` for
            /// a flag).
            pub fn attributes_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
                self.attributes
                    .iter()
                    .filter(move |a| a.name.eq_ignore_ascii_case(name))
                    .map(|a| a.value.as_deref().unwrap_or(""))
            }

            /// Whether an attribute named `name` is present.
            pub fn has_attribute(&self, name: &str) -> bool {
                self.attributes.iter().any(|a| a.name.eq_ignore_ascii_case(name))
            }

            /// Appends an attribute.
            pub fn add_attribute(&mut self, attribute: crate::Attribute) -> &mut Self {
                self.attributes.push(attribute);
                self
            }

            /// Sets the single attribute `name`: replaces the first one in
            /// place and removes the others, or appends it. `None` makes it a
            /// flag (`a=name`).
            pub fn set_attribute(&mut self, name: &str, value: Option<String>) -> &mut Self {
                let new = crate::Attribute { name: name.to_string(), value };
                match self.attributes.iter().position(|a| a.name.eq_ignore_ascii_case(name)) {
                    Some(i) => {
                        self.attributes[i] = new;
                        let mut n = 0;
                        self.attributes.retain(|a| {
                            n += 1;
                            n <= i + 1 || !a.name.eq_ignore_ascii_case(name)
                        });
                    }
                    None => self.attributes.push(new),
                }
                self
            }

            /// Removes every attribute named `name`; returns how many.
            pub fn remove_attribute(&mut self, name: &str) -> usize {
                let before = self.attributes.len();
                self.attributes.retain(|a| !a.name.eq_ignore_ascii_case(name));
                before - self.attributes.len()
            }

            /// Sets (`true`) or removes (`false`) the flag attribute `name`.
            pub fn set_flag(&mut self, name: &str, on: bool) -> &mut Self {
                if on {
                    self.set_attribute(name, None)
                } else {
                    self.remove_attribute(name);
                    self
                }
            }

            /// `a=ice-ufrag` (RFC 8839).
            pub fn ice_ufrag(&self) -> Option<&str> {
                self.attribute("ice-ufrag")
            }

            /// Sets `a=ice-ufrag`.
            pub fn set_ice_ufrag(&mut self, ufrag: &str) -> &mut Self {
                self.set_attribute("ice-ufrag", Some(ufrag.to_string()))
            }

            /// `a=ice-pwd` (RFC 8839).
            pub fn ice_pwd(&self) -> Option<&str> {
                self.attribute("ice-pwd")
            }

            /// Sets `a=ice-pwd`.
            pub fn set_ice_pwd(&mut self, pwd: &str) -> &mut Self {
                self.set_attribute("ice-pwd", Some(pwd.to_string()))
            }

            /// The tokens of `a=ice-options` (RFC 8839), e.g. `trickle`, `ice2`.
            pub fn ice_options(&self) -> impl Iterator<Item = &str> {
                self.attributes_named("ice-options").flat_map(str::split_whitespace)
            }

            /// Whether `a=ice-options` lists `option` (e.g. `trickle`).
            pub fn has_ice_option(&self, option: &str) -> bool {
                self.ice_options().any(|o| o.eq_ignore_ascii_case(option))
            }

            /// Sets `a=ice-options` to these tokens (removes it if empty).
            pub fn set_ice_options(&mut self, options: &[&str]) -> &mut Self {
                if options.is_empty() {
                    self.remove_attribute("ice-options");
                    self
                } else {
                    self.set_attribute("ice-options", Some(options.join(" ")))
                }
            }

            /// Every well-formed `a=fingerprint` (RFC 8122; there may be
            /// several, one per algorithm or certificate).
            pub fn fingerprints(&self) -> Vec<crate::Fingerprint> {
                self.attributes_named("fingerprint").filter_map(|v| v.parse().ok()).collect()
            }

            /// Appends an `a=fingerprint`.
            pub fn add_fingerprint(&mut self, fingerprint: &crate::Fingerprint) -> &mut Self {
                self.add_attribute(crate::Attribute::new("fingerprint", fingerprint.to_string()))
            }

            /// `a=setup` (RFC 8842), if present and well-formed.
            pub fn setup(&self) -> Option<crate::Setup> {
                self.attribute("setup").and_then(|v| v.parse().ok())
            }

            /// Sets `a=setup`.
            pub fn set_setup(&mut self, setup: crate::Setup) -> &mut Self {
                self.set_attribute("setup", Some(setup.to_string()))
            }

            /// The direction attribute written at this level, if any (the
            /// first of `sendrecv`, `sendonly`, `recvonly`, `inactive`).
            pub fn direction(&self) -> Option<crate::Direction> {
                self.attributes.iter().find_map(|a| if a.value.is_none() { a.name.parse().ok() } else { None })
            }

            /// Sets the direction attribute, replacing any there is (in place).
            pub fn set_direction(&mut self, direction: crate::Direction) -> &mut Self {
                let new = crate::Attribute::flag(direction.as_str());
                let is_dir = |a: &crate::Attribute| a.value.is_none() && a.name.parse::<crate::Direction>().is_ok();
                match self.attributes.iter().position(is_dir) {
                    Some(i) => {
                        self.attributes[i] = new;
                        let mut n = 0;
                        self.attributes.retain(|a| {
                            n += 1;
                            n <= i + 1 || !is_dir(a)
                        });
                    }
                    None => self.attributes.push(new),
                }
                self
            }
        }
    };
}

pub(crate) use attribute_methods;
