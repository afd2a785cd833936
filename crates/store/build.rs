// `sqlx::migrate!` embeds the migration files when the crate compiles; this
// makes a new or changed migration rebuild it, as cargo would not otherwise.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
