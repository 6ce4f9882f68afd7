//! The demo catalog loaded at start-up (see `seed.rs`). Prices are EUR cents.
//!
//! Edit freely: seeding only inserts what is missing, so a changed line reaches a fresh
//! database, never one where the product already exists.

pub struct SeedCategory {
    pub slug: &'static str,
    pub name: &'static str,
}

pub struct SeedProduct {
    pub sku: &'static str,
    pub category: &'static str,
    pub name: &'static str,
    pub price_minor: i64,
    pub stock: i32,
    pub description: &'static str,
}

const fn category(slug: &'static str, name: &'static str) -> SeedCategory {
    SeedCategory { slug, name }
}

const fn product(
    sku: &'static str,
    category: &'static str,
    name: &'static str,
    price_minor: i64,
    stock: i32,
    description: &'static str,
) -> SeedProduct {
    SeedProduct {
        sku,
        category,
        name,
        price_minor,
        stock,
        description,
    }
}

pub const CATEGORIES: &[SeedCategory] = &[
    category("coffee-tea", "Coffee & Tea"),
    category("kitchen", "Kitchen"),
    category("books", "Books"),
    category("outdoor", "Outdoor"),
    category("electronics", "Electronics"),
    category("home", "Home"),
    category("toys", "Toys & Games"),
];

#[rustfmt::skip]
pub const PRODUCTS: &[SeedProduct] = &[
    // Coffee & Tea
    product("CT-ESP-001", "coffee-tea", "Harbor Espresso Blend, 1 kg", 2490, 60,
        "Whole coffee beans roasted dark for espresso: cocoa, toasted hazelnut and a syrupy body that holds up under milk."),
    product("CT-FLT-002", "coffee-tea", "Ethiopia Yirgacheffe Filter Coffee, 250 g", 1450, 35,
        "A washed single-origin coffee with jasmine, bergamot and lemon notes. Roasted light for pour-over and filter brewing."),
    product("CT-DEC-003", "coffee-tea", "Swiss Water Decaf Coffee, 500 g", 1690, 25,
        "Colombian beans decaffeinated without chemicals. Milk chocolate and caramel, for a late evening cup."),
    product("CT-CBR-004", "coffee-tea", "Cold Brew Coffee Bags, 12 pack", 1190, 48,
        "Coarsely ground coffee in filter bags: steep one overnight in a litre of cold water for a smooth, low-acid brew."),
    product("CT-SEN-005", "coffee-tea", "Japanese Sencha Green Tea, 100 g", 1290, 30,
        "Steamed loose-leaf green tea from Shizuoka, grassy and sweet. Brew at 70 °C for one minute."),
    product("CT-EGR-006", "coffee-tea", "Earl Grey Supreme Black Tea, 125 g", 990, 55,
        "Assam and Darjeeling black tea scented with Calabrian bergamot oil and a few blue cornflowers."),
    product("CT-ROO-007", "coffee-tea", "Rooibos Vanilla Herbal Tea, 100 g", 790, 40,
        "Caffeine-free red bush from South Africa with Madagascar vanilla. Good hot, better iced."),
    product("CT-MAT-008", "coffee-tea", "Ceremonial Matcha, 30 g tin", 2290, 18,
        "Stone-ground first-harvest green tea powder from Uji, bright green and umami-rich. Whisk it, never boil it."),
    product("CT-CHA-009", "coffee-tea", "Masala Chai Spice Blend, 150 g", 890, 33,
        "Strong Assam tea with cardamom, ginger, cinnamon and black pepper, for simmering in milk the Mumbai way."),

    // Kitchen
    product("KI-GRN-001", "kitchen", "Burr Coffee Grinder", 8990, 15,
        "Conical steel burrs and 40 grind settings, from espresso fine to French press coarse. Quiet, with a timer."),
    product("KI-PRS-002", "kitchen", "French Press, 1 l", 3490, 28,
        "Borosilicate glass and a stainless steel frame with a four-layer filter that keeps the coffee grounds where they belong."),
    product("KI-KET-003", "kitchen", "Gooseneck Pour-Over Kettle", 5990, 20,
        "A 0.9 litre electric kettle with a precise spout and temperature hold from 40 to 100 °C, for tea and filter coffee."),
    product("KI-SKL-004", "kitchen", "Cast Iron Skillet, 26 cm", 4490, 22,
        "Pre-seasoned cast iron that goes from hob to oven to campfire, and only gets better with every steak."),
    product("KI-KNF-005", "kitchen", "Chef's Knife, 20 cm", 7990, 12,
        "Forged from a single piece of German stainless steel, with a full tang and a balanced olive-wood handle."),
    product("KI-BRD-006", "kitchen", "End-Grain Oak Cutting Board", 5490, 14,
        "Thick end-grain oak that is kind to knife edges, with juice grooves and rubber feet that keep it in place."),
    product("KI-DUT-007", "kitchen", "Enamelled Dutch Oven, 4.5 l", 11990, 9,
        "Heavy cast iron in a sea-blue enamel for braises, stews and crusty no-knead bread."),
    product("KI-SCL-008", "kitchen", "Digital Kitchen Scale", 2490, 45,
        "Weighs up to 5 kg in 1 g steps, with a tare button and a 0.1 g timer mode for dialling in espresso shots."),
    product("KI-MUG-009", "kitchen", "Stoneware Mugs, set of 4", 3290, 30,
        "Hand-glazed stoneware mugs of 350 ml in harbour greys and blues, for coffee, tea or soup. Dishwasher safe."),
    product("KI-MOK-010", "kitchen", "Stovetop Moka Pot, 6 cups", 3990, 26,
        "The Italian classic in polished aluminium: rich, strong coffee on any hob but induction."),

    // Books
    product("BK-RUS-001", "books", "The Rust Programming Language", 4490, 40,
        "The official guide to Rust, from ownership and borrowing to fearless concurrency. Second edition, paperback."),
    product("BK-ZTP-002", "books", "Zero To Production In Rust", 4990, 35,
        "Building a backend service in Rust from the first test to deployment: telemetry, databases, error handling."),
    product("BK-DDI-003", "books", "Designing Data-Intensive Applications", 4790, 28,
        "How replication, partitioning, transactions and stream processing really work, and what they cost."),
    product("BK-COF-004", "books", "The World Atlas of Coffee", 3490, 20,
        "From bean to brew: growing regions, varieties and processing, with maps of every coffee country."),
    product("BK-SAL-005", "books", "Salt, Fat, Acid, Heat", 3290, 24,
        "Four elements of good cooking, explained with illustrations so you can cook without a recipe."),
    product("BK-SEA-006", "books", "The Sea Around Us", 1690, 16,
        "Rachel Carson's prize-winning portrait of the oceans, from tides and currents to the life of the deep."),
    product("BK-SAP-007", "books", "Sapiens: A Brief History of Humankind", 2290, 50,
        "How one species of ape came to rule the planet, told in four revolutions. Paperback."),
    product("BK-BRE-008", "books", "Flour Water Salt Yeast", 3190, 18,
        "Artisan bread and pizza at home, with schedules that fit a working day. Step-by-step photographs."),
    product("BK-TEA-009", "books", "The Tea Book", 2490, 14,
        "A visual guide to black, green, white and oolong tea: where it grows, how to brew it, and what to pair it with."),

    // Outdoor
    product("OD-TNT-001", "outdoor", "Two-Person Backpacking Tent", 24990, 8,
        "Freestanding, 1.9 kg, with two doors and two vestibules. Pitches in five minutes, even in the rain."),
    product("OD-BAG-002", "outdoor", "Down Sleeping Bag, -5 °C", 18990, 10,
        "Responsibly sourced 700-fill goose down in a mummy shape that packs to the size of a loaf of bread."),
    product("OD-STV-003", "outdoor", "Titanium Camping Stove", 4990, 25,
        "Weighs 56 g, screws onto any gas canister and boils a litre of water in three and a half minutes."),
    product("OD-MUG-004", "outdoor", "Insulated Camp Mug, 350 ml", 2190, 50,
        "Double-wall stainless steel with a slide-lock lid: keeps your coffee hot for the whole sunrise."),
    product("OD-LMP-005", "outdoor", "Rechargeable Headlamp, 400 lm", 3990, 38,
        "Red night mode, a lock-out switch and USB-C charging. Runs for 60 hours on its lowest setting."),
    product("OD-BTL-006", "outdoor", "Water Filter Bottle, 1 l", 3490, 30,
        "A hollow-fibre filter in the cap removes bacteria and protozoa from stream water as you drink."),
    product("OD-CHR-007", "outdoor", "Folding Camp Chair", 5990, 17,
        "An aluminium frame and ripstop seat that fold into a bag the size of a water bottle. Holds 120 kg."),
    product("OD-PLE-008", "outdoor", "Carbon Trekking Poles, pair", 8990, 12,
        "Three-section carbon poles with cork grips and quick locks, 205 g each, for long days in the hills."),
    product("OD-HAM-009", "outdoor", "Ultralight Hammock", 4490, 21,
        "Parachute nylon hammock with tree straps, 380 g. Hangs in two minutes between any two trees."),

    // Electronics
    product("EL-HDP-001", "electronics", "Noise-Cancelling Headphones", 24990, 15,
        "Over-ear wireless headphones with adaptive noise cancelling and 30 hours of battery life."),
    product("EL-SPK-002", "electronics", "Waterproof Bluetooth Speaker", 7990, 30,
        "IP67 waterproof, floats in the pool, and plays for 16 hours. Pairs with a second speaker for stereo."),
    product("EL-KBD-003", "electronics", "Mechanical Keyboard, 75%", 12990, 18,
        "Hot-swappable tactile switches, a gasket-mounted aluminium case and PBT keycaps. USB-C and Bluetooth."),
    product("EL-MSE-004", "electronics", "Ergonomic Wireless Mouse", 5990, 32,
        "A vertical grip that keeps your wrist in a handshake position, with silent clicks and a 70-day battery."),
    product("EL-CHG-005", "electronics", "65 W USB-C Charger", 3990, 60,
        "A GaN charger with two USB-C ports and one USB-A that charges a laptop and a phone at once."),
    product("EL-PWR-006", "electronics", "Power Bank, 20,000 mAh", 4990, 40,
        "Charges a phone four times over, with 30 W USB-C Power Delivery and a display showing what is left."),
    product("EL-ERD-007", "electronics", "E-Reader with Warm Light", 14990, 20,
        "A glare-free 7-inch screen with adjustable warm light, waterproof, with weeks of battery for your books."),
    product("EL-CAM-008", "electronics", "4K Action Camera", 29990, 9,
        "Stabilised 4K video at 60 fps, waterproof to 10 m without a case, with a front screen for vlogging."),
    product("EL-SCL-009", "electronics", "Smart Coffee Scale", 6990, 16,
        "Bluetooth scale that tracks flow rate and brew ratio in an app, so every pour-over coffee tastes the same."),

    // Home
    product("HM-BLK-001", "home", "Merino Wool Throw", 8990, 14,
        "A soft, warm blanket of Merino wool woven in Portugal, in a charcoal herringbone. 130 × 170 cm."),
    product("HM-CDL-002", "home", "Sea Salt & Driftwood Candle", 2490, 45,
        "Soy wax in an amber jar with a cotton wick, 50 hours of a fresh seaside scent."),
    product("HM-LMP-003", "home", "Brass Reading Lamp", 12990, 11,
        "An adjustable arm and a linen shade over a warm 2700 K bulb: made for long evenings with a book."),
    product("HM-PLN-004", "home", "Ceramic Plant Pot, 20 cm", 2990, 36,
        "Speckled matte ceramic with a drainage hole and a saucer, for a fiddle-leaf fig or a sturdy monstera."),
    product("HM-TWL-005", "home", "Organic Cotton Bath Towels, set of 2", 4490, 27,
        "Heavy 600 gsm terry of organic cotton that gets softer with every wash. Sand and sea green."),
    product("HM-CLK-006", "home", "Oak Wall Clock", 5490, 13,
        "A silent sweep movement in a solid oak case with brass hands. 30 cm across."),
    product("HM-DIF-007", "home", "Ultrasonic Aroma Diffuser", 3490, 29,
        "A quiet mist of water and essential oils for eight hours, with a soft night light and an auto shut-off."),
    product("HM-RUG-008", "home", "Hand-Woven Jute Rug, 160 × 230 cm", 14990, 7,
        "A chunky natural jute rug, hand-woven in India, that brings warmth and texture to any room."),
    product("HM-PIL-009", "home", "Linen Cushion Covers, set of 2", 3290, 34,
        "Stonewashed European linen with hidden zips, for 45 × 45 cm cushions. Rust and oatmeal."),

    // Toys & Games
    product("TY-PZL-001", "toys", "Lighthouse Jigsaw Puzzle, 1000 pieces", 2290, 42,
        "A lighthouse at dusk over a stormy sea, printed on thick recycled board. 68 × 48 cm finished."),
    product("TY-BLD-002", "toys", "Wooden Building Blocks, 100 pieces", 3990, 26,
        "Beech wood blocks in ten shapes and six colours, sanded smooth and finished with child-safe paint."),
    product("TY-CAT-003", "toys", "Settlers of the Harbour Board Game", 3990, 31,
        "Trade, build and settle a windswept archipelago. For 3 to 4 players aged 10 and up; about 75 minutes."),
    product("TY-CHS-004", "toys", "Walnut Chess Set", 7990, 10,
        "A folding walnut board that stores weighted Staunton pieces, hand-carved and felted."),
    product("TY-KIT-005", "toys", "Stunt Kite", 4490, 19,
        "A dual-line delta kite with a ripstop sail and carbon spars, for loops and dives on a windy beach."),
    product("TY-CAR-006", "toys", "Playing Cards, 2 decks", 1290, 80,
        "Linen-finish casino cards in harbour blue and red, that shuffle smoothly and last for years."),
    product("TY-RBT-007", "toys", "Programmable Robot Kit", 8990, 13,
        "Build a little robot and teach it to follow lines and dodge walls with block-based coding or Python."),
    product("TY-BOT-008", "toys", "Wooden Sailing Boat", 2490, 22,
        "A hand-painted wooden boat with a cotton sail that really floats, for the bath or the pond."),
    product("TY-MAR-009", "toys", "Marble Run, 120 pieces", 4990, 15,
        "Tracks, funnels, spirals and a lift to build a different run every day. Ages 6 and up."),
];
