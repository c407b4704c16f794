//! The time to render a typical invoice PDF and its size, outside CI:
//!
//!     cargo run --release --example invoice_pdf_bench -p hostadmin
//!
//! "Typical" is the reverse-charged example: two parties, two lines (Greek and Cyrillic
//! names among them), a period, the tax breakdown and the reverse-charge note. The first
//! render (which loads the embedded fonts) is timed on its own; the median is of the
//! 100 renders after it.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use hostadmin::documents::{examples, invoice_pdf};

const RENDERS: usize = 100;

fn main() -> ExitCode {
    let document = match examples::reverse_charged() {
        Ok(document) => document,
        Err(error) => {
            eprintln!("the example invoice does not build: {error}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let first = match invoice_pdf::render(&document) {
        Ok(pdf) => pdf,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    let first_render = started.elapsed();
    let mut times: Vec<Duration> = Vec::with_capacity(RENDERS);
    for _ in 0..RENDERS {
        let started = Instant::now();
        if let Err(error) = invoice_pdf::render(&document) {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
        times.push(started.elapsed());
    }
    times.sort();
    let millis = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("first render (loads the fonts): {:.2} ms", millis(first_render));
    println!(
        "{RENDERS} renders: median {:.2} ms, min {:.2} ms, p90 {:.2} ms, max {:.2} ms",
        millis(times[RENDERS / 2]),
        millis(times[0]),
        millis(times[RENDERS * 9 / 10]),
        millis(times[RENDERS - 1]),
    );
    println!("size: {} bytes, 1 page", first.len());
    ExitCode::SUCCESS
}
