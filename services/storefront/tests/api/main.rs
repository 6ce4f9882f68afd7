//! Integration tests: the storefront on a random port, in front of real services.

mod browser;
mod conditional;
mod faults;
mod helpers;
mod home;
mod pages;
mod passthrough;
mod routing;
mod standard;
mod unavailable;
