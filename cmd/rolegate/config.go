package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// settingErrors collects every wrong setting so start-up can name them all,
// one line each.
type settingErrors []settingError

// settingError is one bad setting in words; env names the environment
// variable a flag's default was read from, when that is what was bad.
type settingError struct {
	env, msg string
}

// String is the error as err says it without a flag set: "ENV: msg".
func (se settingError) String() string {
	if se.env == "" {
		return se.msg
	}
	return se.env + ": " + se.msg
}

func (e *settingErrors) add(format string, args ...any) {
	*e = append(*e, settingError{msg: fmt.Sprintf(format, args...)})
}

// addEnv records a bad value of the environment variable env, a flag's
// default; err names the flag beside it.
func (e *settingErrors) addEnv(env, format string, args ...any) {
	*e = append(*e, settingError{env: env, msg: fmt.Sprintf(format, args...)})
}

// err is every bad setting, one a line. A bad environment variable is
// named with its flag of fs ("--db-max-conns / DB_MAX_CONNS: ...": the
// flag whose usage names it in brackets), and is no error at all when
// that flag was given on the command line, which wins over it.
func (e settingErrors) err(fs *flag.FlagSet) error {
	var lines []string
	for _, se := range e {
		if se.env == "" {
			lines = append(lines, se.msg)
			continue
		}
		name, set := envFlag(fs, se.env)
		switch {
		case set:
		case name != "":
			lines = append(lines, "--"+name+" / "+se.env+": "+se.msg)
		default:
			lines = append(lines, se.env+": "+se.msg)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return errors.New(strings.Join(lines, "\n"))
}

// envFlag is the flag of fs that falls back to the environment variable
// env (its usage names it: "[ENV]" or "[ENV=true]"), and whether the
// command line set it.
func envFlag(fs *flag.FlagSet, env string) (name string, set bool) {
	if fs == nil {
		return "", false
	}
	fs.VisitAll(func(f *flag.Flag) {
		if strings.Contains(f.Usage, "["+env+"]") || strings.Contains(f.Usage, "["+env+"=") {
			name = f.Name
		}
	})
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return name, set
}

// parseDays reads a duration written in whole days (90d) or as a Go
// duration (2160h, 90m, 0). It refuses negative values.
func parseDays(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration", s)
	}
	return d, nil
}

// envValue reads a flag default from the environment variable name with
// parse; unset, it is def. A value parse refuses is recorded in errs as
// not being what (e.g. "a whole number"), and def is returned.
func envValue[T any](getenv func(string) string, name string, def T, errs *settingErrors, what string, parse func(string) (T, error)) T {
	v := getenv(name)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		errs.addEnv(name, "%q is not %s", v, what)
		return def
	}
	return x
}

// envDuration reads a duration that is not negative from the environment
// for a flag default.
func envDuration(getenv func(string) string, name string, def time.Duration, errs *settingErrors) time.Duration {
	return envValue(getenv, name, def, errs, "a duration (e.g. 15s, 2m)", func(v string) (time.Duration, error) {
		d, err := time.ParseDuration(v)
		if err == nil && d < 0 {
			err = errors.New("negative")
		}
		return d, err
	})
}

// envInt reads an integer from the environment for a flag default.
func envInt(getenv func(string) string, name string, def int, errs *settingErrors) int {
	return envValue(getenv, name, def, errs, "a whole number", strconv.Atoi)
}

// envBool reads a boolean from the environment for a flag default.
func envBool(getenv func(string) string, name string, def bool, errs *settingErrors) bool {
	return envValue(getenv, name, def, errs, "true or false", strconv.ParseBool)
}

// envFloat reads a number from the environment for a flag default; like
// fmt's %g it takes the number at the start of the value.
func envFloat(getenv func(string) string, name string, def float64, errs *settingErrors) float64 {
	return envValue(getenv, name, def, errs, "a number", func(v string) (f float64, err error) {
		_, err = fmt.Sscanf(v, "%g", &f)
		return f, err
	})
}

func envString(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// newFlagSet returns a flag set that reports errors instead of exiting and
// prints its usage to w.
func newFlagSet(name, synopsis string, w io.Writer) *flag.FlagSet {
	return flagSetWithUsage(name, w, "Usage: rolegate "+synopsis+"\n\nFlags (each falls back to the environment variable named in brackets):")
}

// newAboutFlagSet is newFlagSet for a command whose usage also says what
// it does.
func newAboutFlagSet(name, synopsis, about string, w io.Writer) *flag.FlagSet {
	return flagSetWithUsage(name, w, "Usage: rolegate "+synopsis+"\n\n"+about+"\n\nFlags (each falls back to the environment variable in brackets):")
}

// parseArgs parses args into fs with flags before, between and after the
// other arguments (`token revoke 3 --database-url URL`, `migrate status
// --log-level warn`), which it returns in order; after "--" every word is
// an argument.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w; run 'rolegate %s -h' for its flags", plainFlagError(fs, err), fs.Name())
		}
		left := fs.Args()
		if len(left) == 0 {
			return rest, nil
		}
		if n := len(args) - len(left); n > 0 && args[n-1] == "--" {
			return append(rest, left...), nil
		}
		rest, args = append(rest, left[0]), left[1:]
	}
}

// parseFlagsOnly is parseArgs for a command that takes flags alone: a
// word where none belongs is refused, naming it, after every flag around
// it was read (a wrong flag after the word is reported, not skipped).
func parseFlagsOnly(fs *flag.FlagSet, args []string) error {
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return unexpectedArgument(fs.Name(), rest[0])
	}
	return nil
}

// unexpectedArgument is the error for a word where command takes none,
// which once stopped the flags after it from being read. A switch's value
// given as a word of its own (`--no-worker true`) is the usual cause.
func unexpectedArgument(command, arg string) error {
	if arg == "true" || arg == "false" {
		return fmt.Errorf("%s: unexpected argument %q: a switch takes its value after =, as in --no-worker=%s", command, arg, arg)
	}
	return fmt.Errorf("%s: unexpected argument %q", command, arg)
}

func flagSetWithUsage(name string, w io.Writer, head string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	out := &usageWriter{w: w}
	fs.SetOutput(out)
	fs.Usage = func() {
		if out.errorSaid {
			// A wrong flag: the error returned says it, with where the
			// flags are (parseArgs); not all of them, a screenful above
			// the one line that matters.
			out.errorSaid = false
			return
		}
		hasFlags := false
		fs.VisitAll(func(*flag.Flag) { hasFlags = true })
		if !hasFlags {
			// No flags: the usage line alone, without a Flags heading
			// over nothing.
			head, _, _ = strings.Cut(head, "\n\nFlags (")
		}
		fmt.Fprintln(w, head)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
	return fs
}

// usageWriter is a flag set's output. The flag package writes to it only
// to say what was wrong with a flag, just before it asks for the usage:
// that line is dropped (the error returned says the same, once) and
// errorSaid set. The usage writes to w itself.
type usageWriter struct {
	w         io.Writer
	errorSaid bool
}

func (u *usageWriter) Write(p []byte) (int, error) {
	u.errorSaid = true
	return len(p), nil
}

// logSettings are the logging flags every long-running command takes.
type logSettings struct {
	level  string
	format string
}

func (l *logSettings) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&l.level, "log-level", envString(getenv, "LOG_LEVEL", "info"), "log level: debug, info, warn or error [LOG_LEVEL]")
	fs.StringVar(&l.format, "log-format", envString(getenv, "LOG_FORMAT", "text"), "log format: text or json [LOG_FORMAT]")
}

func (l *logSettings) logger(w io.Writer, errs *settingErrors) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		errs.add("--log-level / LOG_LEVEL: %q is not one of debug, info, warn, error", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts))
	case "text":
		return slog.New(slog.NewTextHandler(w, opts))
	default:
		errs.add("--log-format / LOG_FORMAT: %q is not text or json", l.format)
		return slog.New(slog.NewTextHandler(w, opts))
	}
}

func checkListen(addr string, errs *settingErrors) { checkAddr("--listen / LISTEN_ADDR", addr, errs) }

// checkAddr checks addr, the value of setting, is host:port.
func checkAddr(setting, addr string, errs *settingErrors) {
	if _, port, err := net.SplitHostPort(addr); err != nil {
		errs.add("%s: %q is not host:port (e.g. 127.0.0.1:8080 or :8080)", setting, addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		errs.add("%s: port %q is not a number from 0 to 65535", setting, port)
	}
}

// flagValueRE is the flag package's refusal of a value its type cannot
// parse.
var flagValueRE = regexp.MustCompile(`^invalid value ("[^"]*") for flag -(\S+): parse error$`)

// flagBoolRE is its refusal of a value a boolean flag cannot take.
var flagBoolRE = regexp.MustCompile(`^invalid boolean value ("[^"]*") for -(\S+): parse error$`)

// plainFlagError says what a flag's value should look like where the flag
// package says only "parse error", as the environment's refusals do.
func plainFlagError(fs *flag.FlagSet, err error) error {
	if m := flagBoolRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("invalid value %s for flag -%s: not true or false", m[1], m[2])
	}
	m := flagValueRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	g, ok := fs.Lookup(m[2]).Value.(flag.Getter)
	if !ok {
		return err
	}
	want := ""
	switch g.Get().(type) {
	case time.Duration:
		want = "a duration (e.g. 15s, 2m)"
	case int, int64, uint, uint64:
		want = "a whole number"
	case float64:
		want = "a number"
	case bool:
		want = "true or false"
	default:
		return err
	}
	return fmt.Errorf("invalid value %s for flag -%s: not %s", m[1], m[2], want)
}
