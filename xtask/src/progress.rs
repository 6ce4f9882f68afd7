//! Output a person can follow: one line per step, one per result.

pub fn step(what: &str) {
    println!("\n==> {what}");
}

pub fn done(what: &str) {
    println!("    ok: {what}");
}

pub fn note(what: &str) {
    println!("    {what}");
}
