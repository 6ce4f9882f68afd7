//! The assets the pages use, served by the storefront itself: the stylesheet, the icon, and
//! a picture for every product, drawn from its SKU (no image files, no build step).

use axum::extract::Path;
use axum::response::IntoResponse;
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use maud::html;

const STYLESHEET: &str = include_str!("shop.css");

const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0f4c5c"/><text x="16" y="23" font-size="20" text-anchor="middle" fill="#fff">⚓</text></svg>"##;

/// An hour: the assets change only with a new release.
const ASSET_CACHE: &str = "public, max-age=3600";

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static(ASSET_CACHE)),
        ],
        STYLESHEET,
    )
}

pub async fn favicon() -> impl IntoResponse {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (CACHE_CONTROL, HeaderValue::from_static(ASSET_CACHE)),
        ],
        FAVICON,
    )
}

/// `GET /images/products/{sku}.svg`: the product's placeholder picture.
pub async fn product_image(Path(file): Path<String>) -> impl IntoResponse {
    let sku = file.strip_suffix(".svg").unwrap_or(&file);
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (CACHE_CONTROL, HeaderValue::from_static(ASSET_CACHE)),
        ],
        placeholder_svg(sku),
    )
}

/// Colours a product's picture may take: the SKU picks one, so a product keeps its own.
const PALETTE: [(&str, &str); 8] = [
    ("#0f4c5c", "#e36414"),
    ("#5f0f40", "#fb8b24"),
    ("#1d3557", "#a8dadc"),
    ("#2d6a4f", "#d8f3dc"),
    ("#6d597a", "#eaac8b"),
    ("#264653", "#e9c46a"),
    ("#9a031e", "#f4d35e"),
    ("#3a0ca3", "#4cc9f0"),
];

/// A 4:3 picture: a background, a shape and the SKU, in colours chosen by the SKU.
fn placeholder_svg(sku: &str) -> String {
    let hash = fnv1a(sku.as_bytes());
    let (background, accent) = PALETTE[(hash % PALETTE.len() as u64) as usize];
    let shape = (hash >> 8) % 3;
    let cx = 120 + (hash >> 16) % 80;
    let markup = html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" role="img" {
            rect width="400" height="300" fill=(background) {}
            @match shape {
                0 => circle cx=(cx) cy="130" r="80" fill=(accent) opacity="0.85" {},
                1 => rect x=(cx - 70) y="60" width="140" height="140" rx="18" fill=(accent) opacity="0.85" {},
                _ => polygon points={ (cx) ",40 " (cx + 90) ",210 " (cx - 90) ",210" } fill=(accent) opacity="0.85" {},
            }
            text x="200" y="270" font-family="sans-serif" font-size="22" text-anchor="middle" fill="#ffffff" { (sku) }
        }
    };
    markup.into_string()
}

/// FNV-1a: a small, stable hash (the standard library's may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sku_always_gets_the_same_picture_and_is_escaped_in_it() {
        assert_eq!(placeholder_svg("MUG-01"), placeholder_svg("MUG-01"));
        let svg = placeholder_svg("<script>x</script>");
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
    }
}
