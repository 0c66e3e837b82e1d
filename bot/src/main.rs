fn main() {
    eprintln!("bot: not built yet (see issue 5)");
    std::process::exit(2);
}
