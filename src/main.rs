//! `cback`: the cedar command-line entry point.

fn main() {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // Tool subcommands that are not Cedar actions take their own option syntax
    // (mkisofs's single-dash long options), so they are routed before Cedar's
    // getopt-style switches are parsed.
    if args.len() > 1 {
        match args[1].to_str() {
            Some("mkisofs") => std::process::exit(cedar::tools::mkisofs::main(args.split_off(2))),
            Some("drive") => std::process::exit(cedar::tools::drive::main(args.split_off(2))),
            Some("amazons3-sync") => {
                std::process::exit(cedar::tools::amazons3_sync::main(args.split_off(2)))
            }
            Some("verify") => std::process::exit(cedar::tools::verify::main(args.split_off(2))),
            Some("restore") => std::process::exit(cedar::tools::restore::main(args.split_off(2))),
            Some("span") => std::process::exit(cedar::tools::span::main(args.split_off(2))),
            _ => {}
        }
    }
    std::process::exit(cedar::app::run(args.split_off(1)));
}
