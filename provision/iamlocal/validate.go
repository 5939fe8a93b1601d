package iamlocal

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The model patterns IAM checks names, paths, descriptions and tags against.
var (
	namePattern        = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathPattern        = regexp.MustCompile(`^(/|/[\x{21}-\x{7E}]+/)$`)
	descriptionPattern = regexp.MustCompile(`^[\t\n\r\x{20}-\x{7E}\x{A1}-\x{FF}]*$`)
	policyCharPattern  = regexp.MustCompile(`^[\t\n\r\x{20}-\x{FF}]+$`)
	tagKeyPattern      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValuePattern    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	pathPrefixPattern  = regexp.MustCompile(`^/[\x{21}-\x{7F}]*$`)
	policyARNPattern   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/(.+/)?[\w+=,.@-]+$`)
)

// checkLength enforces a model min/max length in characters.
func checkLength(value, field string, min, max int) *apiError {
	return checkBounds(value, field, "length", utf8.RuneCountInString(value), min, max)
}

// checkBounds enforces a model's minimum and maximum of what (a length or
// a value), n, measured of value.
func checkBounds(value, field, what string, n, min, max int) *apiError {
	if n < min {
		return validationError(value, field, "Member must have "+what+" greater than or equal to "+strconv.Itoa(min))
	}
	if n > max {
		return validationError(value, field, "Member must have "+what+" less than or equal to "+strconv.Itoa(max))
	}
	return nil
}

func checkPattern(value, field string, re *regexp.Regexp, pattern string) *apiError {
	if !re.MatchString(value) {
		return validationError(value, field, "Member must satisfy regular expression pattern: "+pattern)
	}
	return nil
}

// checkName enforces the pattern and length of role (max 64), inline policy,
// managed policy and instance profile (max 128) names.
func checkName(value, field string, max int) *apiError {
	if err := checkLength(value, field, 1, max); err != nil {
		return err
	}
	return checkPattern(value, field, namePattern, `[\w+=,.@-]+`)
}

// checkPath enforces the path rules; an absent path means "/".
func checkPath(value, field string) *apiError {
	if err := checkLength(value, field, 1, 512); err != nil {
		return err
	}
	return checkPattern(value, field, pathPattern, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
}

func checkDescription(value string) *apiError {
	if err := checkLength(value, "description", 0, 1000); err != nil {
		return err
	}
	return checkPattern(value, "description", descriptionPattern, `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`)
}

func checkMaxSessionDuration(n int) *apiError {
	return checkRange(n, "maxSessionDuration", defaultMaxSession, maxSessionLimit)
}

// checkRange enforces a model's minimum and maximum value of a number.
func checkRange(n int, field string, min, max int) *apiError {
	return checkBounds(strconv.Itoa(n), field, "value", n, min, max)
}

// checkPolicyARN rejects strings that are not IAM policy ARNs at all;
// well-formed ARNs of unknown policies are the caller's NoSuchEntity.
func checkPolicyARN(arn, field string) *apiError {
	if err := checkLength(arn, field, 20, 2048); err != nil {
		return err
	}
	if !policyARNPattern.MatchString(arn) {
		return invalidInput("ARN %s is not valid.", arn)
	}
	return nil
}

// policySize is a document's size as IAM counts it: whitespace excluded.
func policySize(doc string) int {
	n := 0
	for _, r := range doc {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// checkPolicyChars enforces the model's length and character set of a
// policy document.
func checkPolicyChars(doc, field string) *apiError {
	if err := checkLength(doc, field, 1, 131072); err != nil {
		return err
	}
	if !policyCharPattern.MatchString(doc) {
		return validationError(doc, field, `Member must satisfy regular expression pattern: [\u0009\u000A\u000D\u0020-\u00FF]+`)
	}
	return nil
}

// checkTags enforces the per-request tag rules: at most 50, key and value
// lengths and characters, no aws: prefix, and no key twice (ignoring case).
func checkTags(tags []tag) *apiError {
	if len(tags) > 50 {
		return validationError("["+strconv.Itoa(len(tags))+" tags]", "tags", "Member must have length less than or equal to 50")
	}
	seen := make(map[string]bool, len(tags))
	for i, t := range tags {
		prefix := "tags." + strconv.Itoa(i+1) + ".member."
		if err := checkLength(t.Key, prefix+"key", 1, 128); err != nil {
			return err
		}
		if err := checkPattern(t.Key, prefix+"key", tagKeyPattern, `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`); err != nil {
			return err
		}
		if err := checkLength(t.Value, prefix+"value", 0, 256); err != nil {
			return err
		}
		if err := checkPattern(t.Value, prefix+"value", tagValuePattern, `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`); err != nil {
			return err
		}
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return invalidInput("User-defined tag keys can't start with 'aws:'. This prefix is reserved for AWS tags.")
		}
		k := strings.ToLower(t.Key)
		if seen[k] {
			return invalidInput("Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		seen[k] = true
	}
	return nil
}

// checkTagKeys enforces the rules on UntagRole/UntagInstanceProfile keys.
func checkTagKeys(keys []string) *apiError {
	if len(keys) > 50 {
		return validationError("["+strconv.Itoa(len(keys))+" keys]", "tagKeys", "Member must have length less than or equal to 50")
	}
	for i, k := range keys {
		field := "tagKeys." + strconv.Itoa(i+1) + ".member"
		if err := checkLength(k, field, 1, 128); err != nil {
			return err
		}
		if err := checkPattern(k, field, tagKeyPattern, `[\p{L}\p{Z}\p{N}_.:/=+\-@]+`); err != nil {
			return err
		}
	}
	return nil
}
