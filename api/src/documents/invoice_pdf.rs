//! The invoice as a PDF file (`Accept: application/pdf`), made in process with krilla.
//!
//! The page shows what the HTML page shows (both read [`InvoiceView`]) on A4, set in
//! DejaVu Sans, which covers Latin with diacritics, Greek, Cyrillic, Arabic and Hebrew;
//! the font is embedded as a subset, with a ToUnicode map so the text can be searched and
//! copied. Text is laid out first (wrapped to its column, long fields cut with "…",
//! lines continued on further pages under a repeated table header), then drawn, so every
//! page's footer can say how many pages there are.

use std::sync::LazyLock;

use hostadmin_domain::billing::document::InvoiceDocument;
use krilla::color::{luma, rgb};
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Paint, Stroke};
use krilla::text::{Font, TextDirection};
use krilla::Document;
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, MetadataProvider};

use super::invoice_view::PartyView;
use super::{InvoiceView, RenderError};

static REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// A4 in points.
const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const MARGIN: f32 = 50.0;
const RIGHT: f32 = PAGE_WIDTH - MARGIN;
/// Content stops here; the footer sits below.
const BOTTOM: f32 = PAGE_HEIGHT - 60.0;
const FOOTER_BASELINE: f32 = PAGE_HEIGHT - 32.0;

const TITLE_SIZE: f32 = 20.0;
const BODY_SIZE: f32 = 9.5;
const SMALL_SIZE: f32 = 8.0;
/// Line height as a multiple of the font size.
const LEADING: f32 = 1.35;

/// The lines table: the description column and the right edges of the number columns.
const DESCRIPTION_WIDTH: f32 = 245.0;
const QUANTITY_RIGHT: f32 = 345.0;
const UNIT_RIGHT: f32 = 420.0;
const RATE_RIGHT: f32 = 470.0;
/// The totals block: its labels start here, its amounts end at [`RIGHT`].
const TOTALS_LEFT: f32 = 290.0;
const TOTALS_LABEL_WIDTH: f32 = 175.0;

const PARTY_WIDTH: f32 = 235.0;
const BUYER_LEFT: f32 = MARGIN + 260.0;

/// Longest wraps before a text is cut with "…": a line description is at most 1,000
/// characters (about 25 lines); names and addresses are short unless abused.
const MAX_DESCRIPTION_LINES: usize = 30;
const MAX_NAME_LINES: usize = 3;
const MAX_FIELD_LINES: usize = 2;
const MAX_NOTE_LINES: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Weight {
    Regular,
    Bold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ink {
    Black,
    Grey,
}

/// A face to draw with and the metrics to measure it by.
struct Face {
    font: Font,
    charmap: Charmap<'static>,
    metrics: GlyphMetrics<'static>,
    units_per_em: f32,
}

impl Face {
    fn load(ttf: &'static [u8]) -> Option<Self> {
        let font_ref = FontRef::new(ttf).ok()?;
        Some(Self {
            font: Font::new(ttf.into(), 0)?,
            charmap: font_ref.charmap(),
            metrics: font_ref.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em: f32::from(font_ref.metrics(Size::unscaled(), LocationRef::default()).units_per_em),
        })
    }

    /// The advance of `text` at `size`, without kerning (a few hundredths of a point
    /// per pair, which the column widths leave room for).
    fn width(&self, text: &str, size: f32) -> f32 {
        let units: f32 = text
            .chars()
            .map(|c| self.charmap.map(c).and_then(|glyph| self.metrics.advance_width(glyph)).unwrap_or(0.0))
            .sum();
        units * size / self.units_per_em
    }
}

struct Faces {
    regular: Face,
    bold: Face,
}

impl Faces {
    fn get(&self, weight: Weight) -> &Face {
        match weight {
            Weight::Regular => &self.regular,
            Weight::Bold => &self.bold,
        }
    }
}

static FACES: LazyLock<Option<Faces>> =
    LazyLock::new(|| Some(Faces { regular: Face::load(REGULAR_TTF)?, bold: Face::load(BOLD_TTF)? }));

/// Renders the document as a PDF file.
pub fn render(document: &InvoiceDocument) -> Result<Vec<u8>, RenderError> {
    let faces = FACES.as_ref().ok_or_else(|| RenderError::Pdf("the embedded font does not load".to_owned()))?;
    let view = InvoiceView::of(document);
    let pages = lay_out(&view, faces);
    draw(&view, faces, &pages)
}

/// Something to draw on a page, at a position already decided.
#[derive(Debug, Clone, PartialEq)]
enum Mark {
    Text { x: f32, baseline: f32, size: f32, weight: Weight, ink: Ink, text: String },
    Rule { y: f32, from: f32, to: f32, thickness: f32 },
}

/// Places text top to bottom and starts a new page when a block does not fit.
struct Layout<'f> {
    faces: &'f Faces,
    pages: Vec<Vec<Mark>>,
    /// The top of the next line on the current page.
    y: f32,
    /// Drawn at the top of every page after the first (the lines table's header while the
    /// table runs).
    running_header: Vec<Mark>,
}

impl<'f> Layout<'f> {
    fn new(faces: &'f Faces) -> Self {
        Self { faces, pages: vec![Vec::new()], y: MARGIN, running_header: Vec::new() }
    }

    /// Makes room for a block `height` high, on a new page if needed.
    fn reserve(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > MARGIN {
            self.pages.push(Vec::new());
            self.y = MARGIN;
            let header = self.running_header.clone();
            let shift = header.iter().map(mark_bottom).fold(MARGIN, f32::max) - MARGIN;
            if let Some(page) = self.pages.last_mut() {
                page.extend(header);
            }
            self.y += shift + 4.0;
        }
    }

    fn mark(&mut self, mark: Mark) {
        if let Some(page) = self.pages.last_mut() {
            page.push(mark);
        }
    }

    /// One line of text whose top is at the current position, left-aligned at `x`.
    fn text_at(&mut self, x: f32, size: f32, weight: Weight, ink: Ink, text: impl Into<String>) {
        let baseline = self.y + size;
        self.mark(Mark::Text { x, baseline, size, weight, ink, text: text.into() });
    }

    /// One line of text ending at `right`.
    fn text_right(&mut self, right: f32, size: f32, weight: Weight, ink: Ink, text: &str) {
        let x = right - self.faces.get(weight).width(text, size);
        self.text_at(x, size, weight, ink, text);
    }

    fn line_height(size: f32) -> f32 {
        size * LEADING
    }

    /// Wraps `text` to `width`, at most `max_lines` lines, the last cut with "…" when
    /// the text is longer. Words longer than a line are broken where they reach its end.
    fn wrap(&self, text: &str, size: f32, weight: Weight, width: f32, max_lines: usize) -> Vec<String> {
        let face = self.faces.get(weight);
        let fits = |line: &str| face.width(line, size) <= width;
        let mut lines: Vec<String> = Vec::new();
        let mut current = String::new();
        for word in text.split_whitespace() {
            let candidate = if current.is_empty() { word.to_owned() } else { format!("{current} {word}") };
            if fits(&candidate) {
                current = candidate;
                continue;
            }
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            // A word wider than the column is broken by characters.
            for c in word.chars() {
                current.push(c);
                if !fits(&current) && current.chars().count() > 1 {
                    current.pop();
                    lines.push(std::mem::take(&mut current));
                    current.push(c);
                }
            }
            if lines.len() > max_lines {
                break;
            }
        }
        if !current.is_empty() {
            lines.push(current);
        }
        if lines.len() > max_lines {
            lines.truncate(max_lines);
            if let Some(last) = lines.last_mut() {
                while !last.is_empty() && !fits(&format!("{last}…")) {
                    last.pop();
                }
                last.push('…');
            }
        }
        lines
    }
}

fn mark_bottom(mark: &Mark) -> f32 {
    match mark {
        Mark::Text { baseline, size, .. } => baseline + size * (LEADING - 1.0),
        Mark::Rule { y, .. } => *y,
    }
}

fn lay_out(view: &InvoiceView, faces: &Faces) -> Vec<Vec<Mark>> {
    let mut layout = Layout::new(faces);
    heading(&mut layout, view);
    parties(&mut layout, view);
    lines_table(&mut layout, view);
    totals(&mut layout, view);
    notes(&mut layout, view);
    layout.pages
}

/// The title, number and stamp on the left; number and dates on the right.
fn heading(layout: &mut Layout<'_>, view: &InvoiceView) {
    let top = layout.y;
    layout.text_at(MARGIN, TITLE_SIZE, Weight::Bold, Ink::Black, view.title);
    layout.y += Layout::line_height(TITLE_SIZE);
    layout.text_at(MARGIN, BODY_SIZE, Weight::Regular, Ink::Black, view.number.clone());
    layout.y += Layout::line_height(BODY_SIZE);
    if let Some(credits) = &view.credits {
        layout.text_at(MARGIN, BODY_SIZE, Weight::Regular, Ink::Black, credits.clone());
        layout.y += Layout::line_height(BODY_SIZE);
    }
    if let Some(stamp) = view.stamp {
        layout.text_at(MARGIN, BODY_SIZE + 2.0, Weight::Bold, Ink::Black, stamp.to_uppercase());
        layout.y += Layout::line_height(BODY_SIZE + 2.0);
    }
    let left_bottom = layout.y;
    layout.y = top + 4.0;
    for (label, value) in [("Number", &view.number), ("Issued", &view.issued_on), ("Due", &view.due_on)] {
        layout.text_at(RIGHT - 170.0, BODY_SIZE, Weight::Regular, Ink::Grey, label);
        layout.text_right(RIGHT, BODY_SIZE, Weight::Regular, Ink::Black, value);
        layout.y += Layout::line_height(BODY_SIZE);
    }
    layout.y = layout.y.max(left_bottom) + 18.0;
}

/// Seller and buyer side by side.
fn parties(layout: &mut Layout<'_>, view: &InvoiceView) {
    let seller = party_lines(layout, "FROM", &view.seller);
    let buyer = party_lines(layout, "BILL TO", &view.buyer);
    let height = seller.len().max(buyer.len()) as f32 * Layout::line_height(BODY_SIZE);
    layout.reserve(height);
    let top = layout.y;
    for (left, lines) in [(MARGIN, seller), (BUYER_LEFT, buyer)] {
        layout.y = top;
        for (size, weight, ink, text) in lines {
            layout.text_at(left, size, weight, ink, text);
            layout.y += Layout::line_height(BODY_SIZE);
        }
    }
    layout.y = top + height + 18.0;
}

type StyledLine = (f32, Weight, Ink, String);

fn party_lines(layout: &Layout<'_>, heading: &str, party: &PartyView) -> Vec<StyledLine> {
    let mut lines = vec![(SMALL_SIZE, Weight::Regular, Ink::Grey, heading.to_owned())];
    let wrapped =
        |text: &str, weight: Weight, max_lines: usize| layout.wrap(text, BODY_SIZE, weight, PARTY_WIDTH, max_lines);
    lines.extend(
        wrapped(&party.name, Weight::Bold, MAX_NAME_LINES)
            .into_iter()
            .map(|l| (BODY_SIZE, Weight::Bold, Ink::Black, l)),
    );
    for address_line in &party.address {
        lines.extend(
            wrapped(address_line, Weight::Regular, MAX_FIELD_LINES)
                .into_iter()
                .map(|l| (BODY_SIZE, Weight::Regular, Ink::Black, l)),
        );
    }
    for (label, value) in &party.details {
        let text = format!("{label}: {value}");
        lines.extend(
            wrapped(&text, Weight::Regular, MAX_FIELD_LINES)
                .into_iter()
                .map(|l| (BODY_SIZE, Weight::Regular, Ink::Black, l)),
        );
    }
    lines
}

fn table_header(layout: &mut Layout<'_>, view: &InvoiceView) -> Vec<Mark> {
    let start = layout.pages.last().map_or(0, Vec::len);
    layout.text_at(MARGIN, SMALL_SIZE, Weight::Regular, Ink::Grey, "Description");
    layout.text_right(QUANTITY_RIGHT, SMALL_SIZE, Weight::Regular, Ink::Grey, "Qty");
    layout.text_right(UNIT_RIGHT, SMALL_SIZE, Weight::Regular, Ink::Grey, "Unit price");
    layout.text_right(RATE_RIGHT, SMALL_SIZE, Weight::Regular, Ink::Grey, "VAT");
    layout.text_right(RIGHT, SMALL_SIZE, Weight::Regular, Ink::Grey, &format!("Amount ({})", view.currency));
    layout.y += Layout::line_height(SMALL_SIZE) + 2.0;
    layout.mark(Mark::Rule { y: layout.y, from: MARGIN, to: RIGHT, thickness: 0.8 });
    layout.y += 4.0;
    layout.pages.last().map(|page| page[start..].to_vec()).unwrap_or_default()
}

fn lines_table(layout: &mut Layout<'_>, view: &InvoiceView) {
    layout.reserve(Layout::line_height(SMALL_SIZE) * 2.0 + Layout::line_height(BODY_SIZE) * 2.0);
    let header_top = layout.y;
    let header = table_header(layout, view);
    // Repeated on later pages at the top margin.
    layout.running_header = header
        .into_iter()
        .map(|mark| match mark {
            Mark::Text { x, baseline, size, weight, ink, text } => {
                Mark::Text { x, baseline: baseline - header_top + MARGIN, size, weight, ink, text }
            }
            Mark::Rule { y, from, to, thickness } => Mark::Rule { y: y - header_top + MARGIN, from, to, thickness },
        })
        .collect();
    for line in &view.lines {
        let description =
            layout.wrap(&line.description, BODY_SIZE, Weight::Regular, DESCRIPTION_WIDTH, MAX_DESCRIPTION_LINES);
        let period = line.period.as_deref().map(|p| layout.wrap(p, SMALL_SIZE, Weight::Regular, DESCRIPTION_WIDTH, 1));
        let height = description.len() as f32 * Layout::line_height(BODY_SIZE)
            + period.as_ref().map_or(0.0, |p| p.len() as f32 * Layout::line_height(SMALL_SIZE))
            + 6.0;
        layout.reserve(height);
        let top = layout.y;
        layout.text_right(QUANTITY_RIGHT, BODY_SIZE, Weight::Regular, Ink::Black, &line.quantity);
        layout.text_right(UNIT_RIGHT, BODY_SIZE, Weight::Regular, Ink::Black, &line.unit_amount);
        layout.text_right(RATE_RIGHT, BODY_SIZE, Weight::Regular, Ink::Black, &line.tax_rate);
        layout.text_right(RIGHT, BODY_SIZE, Weight::Regular, Ink::Black, &line.amount);
        for text in description {
            layout.text_at(MARGIN, BODY_SIZE, Weight::Regular, Ink::Black, text);
            layout.y += Layout::line_height(BODY_SIZE);
        }
        for text in period.into_iter().flatten() {
            layout.text_at(MARGIN, SMALL_SIZE, Weight::Regular, Ink::Grey, text);
            layout.y += Layout::line_height(SMALL_SIZE);
        }
        layout.y = top + height;
        layout.mark(Mark::Rule { y: layout.y - 3.0, from: MARGIN, to: RIGHT, thickness: 0.3 });
    }
    layout.running_header.clear();
    layout.y += 8.0;
}

fn totals(layout: &mut Layout<'_>, view: &InvoiceView) {
    let money = |amount: &str| format!("{amount} {}", view.currency);
    let mut rows: Vec<(String, String, Weight)> = vec![("Subtotal".to_owned(), money(&view.subtotal), Weight::Regular)];
    rows.extend(
        view.tax_breakdown
            .iter()
            .map(|entry| (format!("{} of {}", entry.label, entry.taxable), money(&entry.tax), Weight::Regular)),
    );
    let total_row = rows.len();
    rows.push(("Total".to_owned(), money(&view.total), Weight::Bold));
    if let Some(paid) = &view.paid {
        rows.push(("Paid".to_owned(), money(paid), Weight::Regular));
        rows.push(("Amount due".to_owned(), money(&view.due), Weight::Regular));
    }
    let wrapped: Vec<_> = rows
        .into_iter()
        .map(|(label, amount, weight)| {
            (layout.wrap(&label, BODY_SIZE, weight, TOTALS_LABEL_WIDTH, MAX_FIELD_LINES), amount, weight)
        })
        .collect();
    // Kept on one page when it fits; an invoice with very many rates continues row by row.
    let height: f32 = wrapped.iter().map(|(label, ..)| label.len() as f32 * Layout::line_height(BODY_SIZE) + 2.0).sum();
    layout.reserve((height + 6.0).min(BOTTOM - MARGIN));
    for (index, (label, amount, weight)) in wrapped.into_iter().enumerate() {
        layout.reserve(label.len() as f32 * Layout::line_height(BODY_SIZE) + 5.0);
        if index == total_row {
            layout.mark(Mark::Rule { y: layout.y, from: TOTALS_LEFT, to: RIGHT, thickness: 0.8 });
            layout.y += 3.0;
        }
        layout.text_right(RIGHT, BODY_SIZE, weight, Ink::Black, &amount);
        for text in label {
            layout.text_at(TOTALS_LEFT, BODY_SIZE, weight, Ink::Black, text);
            layout.y += Layout::line_height(BODY_SIZE);
        }
        layout.y += 2.0;
    }
    layout.y += 12.0;
}

/// The reverse-charge note, the payment reference and how to pay.
fn notes(layout: &mut Layout<'_>, view: &InvoiceView) {
    let reference = format!("Payment reference: {}", view.payment_reference);
    let paragraphs = [view.reverse_charge_note.map(str::to_owned), Some(reference), view.payment_instruction.clone()];
    for paragraph in paragraphs.into_iter().flatten() {
        let lines = layout.wrap(&paragraph, BODY_SIZE, Weight::Regular, RIGHT - MARGIN, MAX_NOTE_LINES);
        layout.reserve(lines.len() as f32 * Layout::line_height(BODY_SIZE));
        for text in lines {
            layout.text_at(MARGIN, BODY_SIZE, Weight::Regular, Ink::Black, text);
            layout.y += Layout::line_height(BODY_SIZE);
        }
        layout.y += 6.0;
    }
}

fn draw(view: &InvoiceView, faces: &Faces, pages: &[Vec<Mark>]) -> Result<Vec<u8>, RenderError> {
    let mut document = Document::new();
    document
        .set_metadata(Metadata::new().title(format!("{} {}", view.title, view.number)).creator("hostadmin".to_owned()));
    let settings =
        PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or_else(|| RenderError::Pdf("page size".to_owned()))?;
    let count = pages.len();
    for (index, marks) in pages.iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        let footer = format!("{} {} · page {} of {count}", view.title, view.number, index + 1);
        let footer = Mark::Text {
            x: MARGIN,
            baseline: FOOTER_BASELINE,
            size: SMALL_SIZE,
            weight: Weight::Regular,
            ink: Ink::Grey,
            text: footer,
        };
        for mark in marks.iter().chain([&footer]) {
            match mark {
                Mark::Text { x, baseline, size, weight, ink, text } => {
                    surface.set_fill(Some(Fill { paint: paint(*ink), ..Fill::default() }));
                    surface.draw_text(
                        Point::from_xy(*x, *baseline),
                        faces.get(*weight).font.clone(),
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Mark::Rule { y, from, to, thickness } => {
                    let mut path = PathBuilder::new();
                    path.move_to(*from, *y);
                    path.line_to(*to, *y);
                    if let Some(path) = path.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            paint: paint(Ink::Grey),
                            width: *thickness,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| RenderError::Pdf(e.to_string()))
}

fn paint(ink: Ink) -> Paint {
    match ink {
        Ink::Black => rgb::Color::black().into(),
        Ink::Grey => luma::Color::new(90).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::examples;
    use crate::documents::invoice_view::REVERSE_CHARGE_NOTE;

    /// The text a PDF reader extracts, page by page, with runs of whitespace made one
    /// space so that wrapped sentences read whole.
    fn pages_text(pdf: &[u8]) -> Vec<String> {
        let parsed = lopdf::Document::load_mem(pdf).unwrap();
        let pages: Vec<u32> = parsed.get_pages().keys().copied().collect();
        pages
            .into_iter()
            .map(|page| parsed.extract_text(&[page]).unwrap().split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn the_text_holds_number_parties_names_in_three_scripts_totals_and_the_reverse_charge_note() {
        let pdf = render(&examples::reverse_charged().unwrap()).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let pages = pages_text(&pdf);
        assert_eq!(pages.len(), 1);
        for shown in [
            "INV-000042",
            "Hosting B.V.",
            "Dvořák s.r.o.",
            "Αθηνά Παπαδοπούλου",
            "Иван Петров",
            "CZ25123891",
            "2026-01-05",
            "2026-01-19",
            "119.88",
            "144.88 EUR",
            REVERSE_CHARGE_NOTE,
            "Payment reference: INV-000042",
            "NL91 ABNA 0417 1643 00",
            "page 1 of 1",
        ] {
            assert!(pages[0].contains(shown), "the PDF lacks {shown:?}: {}", pages[0]);
        }
    }

    #[test]
    fn the_pdf_shows_what_the_page_shows() {
        let document = examples::dutch_consumer().unwrap();
        let view = InvoiceView::of(&document);
        let text = pages_text(&render(&document).unwrap()).join(" ");
        let mut expected =
            vec![view.title.to_owned(), view.number.clone(), view.issued_on.clone(), view.due_on.clone()];
        expected.extend([view.subtotal.clone(), view.tax.clone(), view.total.clone(), view.due.clone()]);
        expected.extend(view.paid.clone());
        expected
            .extend(view.lines.iter().flat_map(|l| [l.description.clone(), l.amount.clone(), l.unit_amount.clone()]));
        expected.extend(view.tax_breakdown.iter().flat_map(|t| [t.label.clone(), t.taxable.clone(), t.tax.clone()]));
        expected.extend(view.payment_instruction.clone());
        for party in [&view.seller, &view.buyer] {
            expected.push(party.name.clone());
            expected.extend(party.address.iter().cloned());
            expected.extend(party.details.iter().map(|(label, value)| format!("{label}: {value}")));
        }
        for shown in expected {
            assert!(text.contains(&shown), "the PDF lacks {shown:?}: {text}");
        }
        assert!(!text.contains("Reverse charge"));
    }

    #[test]
    fn many_lines_continue_on_further_pages_under_the_table_header() {
        let buyer = examples::buyer("Jan de Vries", "NL", None).unwrap();
        let descriptions: Vec<String> = (1..=90).map(|n| format!("Mailbox number {n}")).collect();
        let lines: Vec<_> = descriptions.iter().map(|d| (d.as_str(), 1, 100)).collect();
        let pages = pages_text(&render(&examples::invoice(buyer, &lines).unwrap()).unwrap());
        assert!(pages.len() >= 3, "{} pages", pages.len());
        let count = pages.len();
        for (index, page) in pages.iter().enumerate() {
            assert!(page.contains(&format!("page {} of {count}", index + 1)), "{page}");
            assert!(page.contains("Description"), "page {} has no table header", index + 1);
        }
        for description in &descriptions {
            assert_eq!(
                pages.iter().filter(|page| page.contains(&format!("{description} "))).count(),
                1,
                "{description}"
            );
        }
        assert!(pages[count - 1].contains("Total"));
    }

    #[test]
    fn long_texts_wrap_and_overlong_ones_are_cut_visibly() {
        let long_word = "Superlongcompanynamewithoutanyspaces".repeat(20);
        let buyer = examples::buyer(&long_word, "NL", None).unwrap();
        let description = "word ".repeat(198) + "lastword";
        let pdf = render(&examples::invoice(buyer, &[(description.as_str(), 1, 100)]).unwrap()).unwrap();
        let text = pages_text(&pdf).join(" ");
        assert!(text.contains("lastword"), "a 1,000-character description is shown whole");
        assert!(text.contains('…'), "an overlong name is cut with an ellipsis");
        assert!(!text.contains(&long_word));
    }
}
