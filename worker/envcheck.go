package worker

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// valueError is a variable whose value does not parse. It names the
// variable; envconfig's own errors name the Go field instead.
type valueError struct {
	key, value, want string
}

func (e *valueError) Error() string {
	if e.value == "" {
		return fmt.Sprintf("%s is set but empty: unset it for the default, or give %s", e.key, e.want)
	}
	return fmt.Sprintf("%s=%q: want %s", e.key, e.value, e.want)
}

var durationType = reflect.TypeFor[time.Duration]()

// checkValues returns a mutator that parses each typed variable before
// envconfig decodes it, so that a bad value fails with the variable's name
// and the expected form. String variables (secrets among them) are not
// checked, so their values never reach an error.
func checkValues(target any) envconfig.Mutator {
	kinds := map[string]reflect.Type{}
	collectTyped(reflect.TypeOf(target).Elem(), kinds)
	return envconfig.MutatorFunc(func(_ context.Context, key, _, _, value string) (string, bool, error) {
		typ, ok := kinds[key]
		if !ok {
			return value, false, nil
		}
		v := strings.TrimSpace(value)
		if want := checkValue(typ, v); want != "" {
			return "", true, &valueError{key: key, value: value, want: want}
		}
		return v, false, nil
	})
}

// collectTyped maps each env key of a non-string field to its type.
func collectTyped(t reflect.Type, kinds map[string]reflect.Type) {
	for f := range t.Fields() {
		tag := f.Tag.Get("env")
		if tag == "" {
			if f.Type.Kind() == reflect.Struct {
				collectTyped(f.Type, kinds)
			}
			continue
		}
		key := strings.TrimSpace(strings.Split(tag, ",")[0])
		typ := f.Type
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.String {
			kinds[key] = typ
		}
	}
}

// checkValue returns what was expected when v does not parse as typ, or "".
func checkValue(typ reflect.Type, v string) string {
	var err error
	var want string
	switch {
	case typ == durationType:
		_, err = time.ParseDuration(v)
		want = "a duration such as 30s, 2m or 1h30m"
	case typ.Kind() == reflect.Bool:
		_, err = strconv.ParseBool(v)
		want = "true or false"
	case typ.Kind() == reflect.Int:
		_, err = strconv.Atoi(v)
		want = "a whole number"
	case typ.Kind() == reflect.Float64:
		_, err = strconv.ParseFloat(v, 64)
		want = "a number"
	default:
		return ""
	}
	if err != nil || v == "" {
		return want
	}
	return ""
}

// unwrapField drops envconfig's "Field: " prefixes when the error is one of
// ours, which already names the variable.
func unwrapField(err error) error {
	var ve *valueError
	if errors.As(err, &ve) {
		return ve
	}
	return err
}
