// The scripts' command lines: `--name value` or `--name=value`; the names in `flags` take no value (true when given).
export function parseArgs(argv, flags = []) {
    const out = {};
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (!a.startsWith("--")) throw new Error(`unexpected argument ${a}`);
        const eq = a.indexOf("=");
        const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
        if (eq > 0) out[name] = a.slice(eq + 1);
        else if (flags.includes(name)) out[name] = true;
        else if (i + 1 < argv.length) out[name] = argv[++i];
        else throw new Error(`--${name} needs a value`);
    }
    return out;
}
