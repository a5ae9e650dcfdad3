// Package secrets knows which variables of .env are secrets, makes fresh
// ones and recognises weak ones.
package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math"
	"math/big"
	"strings"
)

// Spec describes one secret variable of .env.example.
type Spec struct {
	Key      string
	Length   int    // characters generated
	Alphabet string // characters drawn from
	// Optional secrets come from elsewhere (a Telegram bot, another stack):
	// empty is allowed, a weak value is not.
	Optional bool
	// Fernet keys (Airflow's) are 32 random bytes in URL-safe base64, the
	// format of Python's cryptography.fernet; Length and Alphabet are unused.
	Fernet bool
}

const (
	alnum      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

// Specs lists every secret of the stack. Alphabets avoid characters that
// need quoting in .env, URLs, htpasswd or shell commands; every generated
// value carries at least 128 bits of entropy.
var Specs = []Spec{
	{Key: "PROXY_BASIC_AUTH_PASSWORD", Length: 24, Alphabet: alnum},
	{Key: "AWS_ACCESS_KEY_ID", Length: 28, Alphabet: upperAlnum},
	{Key: "AWS_SECRET_ACCESS_KEY", Length: 40, Alphabet: alnum},
	{Key: "SEAWEEDFS_ADMIN_PASSWORD", Length: 24, Alphabet: alnum},
	{Key: "GRAFANA_ADMIN_PASSWORD", Length: 24, Alphabet: alnum},
	{Key: "SUPERSET_SECRET_KEY", Length: 64, Alphabet: alnum},
	{Key: "SUPERSET_ADMIN_PASSWORD", Length: 24, Alphabet: alnum},
	{Key: "AIRFLOW_ADMIN_PASSWORD", Length: 24, Alphabet: alnum},
	{Key: "AIRFLOW_FERNET_KEY", Fernet: true},
	{Key: "AIRFLOW_SECRET_KEY", Length: 64, Alphabet: alnum},
	{Key: "AIRFLOW_JWT_SECRET", Length: 64, Alphabet: alnum},
	{Key: "AIRFLOW_DB_PASSWORD", Length: 24, Alphabet: alnum},
	// Encrypts the backups; a restore on a new server needs this value.
	{Key: "BACKUP_RESTIC_PASSWORD", Length: 40, Alphabet: alnum},
	// The backup target's keys come from its provider.
	{Key: "BACKUP_S3_ACCESS_KEY", Optional: true},
	{Key: "BACKUP_S3_SECRET_KEY", Optional: true},
	{Key: "TELEGRAM_BOT_TOKEN", Optional: true},
	{Key: "TIMESCALEDB_PASSWORD", Optional: true},
	// A ping URL's path is its secret: whoever knows it can fake pings.
	{Key: "DEADMANS_SWITCH_URL", Optional: true},
}

// Lookup returns the spec of key.
func Lookup(key string) (Spec, bool) {
	for _, s := range Specs {
		if s.Key == key {
			return s, true
		}
	}
	return Spec{}, false
}

// EntropyBits is the entropy of a generated value of s.
func (s Spec) EntropyBits() float64 {
	if s.Fernet {
		return fernetKeyBytes * 8
	}
	return float64(s.Length) * log2(len(s.Alphabet))
}

const fernetKeyBytes = 32

func log2(n int) float64 { return math.Log2(float64(n)) }

// Generate returns a fresh value for s from crypto/rand.
func Generate(s Spec) (string, error) {
	if s.Fernet {
		key := make([]byte, fernetKeyBytes)
		if _, err := rand.Read(key); err != nil {
			return "", fmt.Errorf("reading random bytes: %w", err)
		}
		return base64.URLEncoding.EncodeToString(key), nil
	}
	if s.Length == 0 || s.Alphabet == "" {
		return "", fmt.Errorf("%s is not generated: it comes from elsewhere", s.Key)
	}
	max := big.NewInt(int64(len(s.Alphabet)))
	var b strings.Builder
	for range s.Length {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("reading random bytes: %w", err)
		}
		b.WriteByte(s.Alphabet[n.Int64()])
	}
	return b.String(), nil
}

// MinLength is the shortest secret accepted.
const MinLength = 16

// wellKnown are defaults and placeholders found in upstream examples; a
// value equal to one of them (ignoring case) is refused.
var wellKnown = []string{
	"minioadmin", "minio123", "admin", "administrator", "changeme", "change-me", "change_me",
	"password", "passw0rd", "secret", "root", "toor", "test", "default", "example",
	"grafana", "superset", "mlflow", "prometheus", "postgres", "seaweedfs", "letmein",
	"thisismysecretkey", "your_secret_key", "supersecret", "12345678", "123456",
}

// Weakness says why value is not acceptable for the secret s, or "" when it
// is. An empty optional secret is acceptable.
func Weakness(s Spec, value string) string {
	if value == "" {
		if s.Optional {
			return ""
		}
		return "is empty"
	}
	if s.Fernet {
		if key, err := base64.URLEncoding.DecodeString(value); err != nil || len(key) != fernetKeyBytes {
			return "is not a Fernet key (32 bytes in URL-safe base64, 44 characters ending in =); delete the value and run opsctl init for a new one"
		}
	}
	lower := strings.ToLower(value)
	for _, w := range wellKnown {
		if lower == w {
			return fmt.Sprintf("is the well-known value %q", value)
		}
	}
	if strings.Contains(lower, "changeme") || strings.Contains(lower, "change_me") || strings.HasPrefix(lower, "your") {
		return "is a placeholder, not a secret"
	}
	if len(value) < MinLength {
		return fmt.Sprintf("is %d characters long; at least %d are needed", len(value), MinLength)
	}
	if distinct(value) < 6 {
		return "repeats too few characters to be random"
	}
	return ""
}

func distinct(s string) int {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
	}
	return len(seen)
}
