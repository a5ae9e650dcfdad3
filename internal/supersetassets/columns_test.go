package supersetassets

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/okx-hft/okx-hft-ops/pkg/hftdata"
	"github.com/okx-hft/okx-hft-ops/pkg/hftdata/pgtest"
)

// supersetType is the type Superset shows for a PostgreSQL data_type of
// information_schema.columns.
var supersetType = map[string]string{
	"timestamp with time zone": "TIMESTAMP WITH TIME ZONE",
	"text":                     "TEXT",
	"bigint":                   "BIGINT",
	"numeric":                  "NUMERIC",
	"double precision":         "DOUBLE PRECISION",
}

// The datasets' column types are those of the migrated database.
func TestColumnTypes(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Start(t).DB
	if _, err := hftdata.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	var tables []string
	for table := range hftdata.Tables {
		tables = append(tables, table)
	}
	sort.Strings(tables)
	for _, table := range tables {
		schema, name, _ := strings.Cut(table, ".")
		rows, err := db.QueryContext(ctx, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2", schema, name)
		if err != nil {
			t.Fatal(err)
		}
		dataType := map[string]string{}
		for rows.Next() {
			var c, typ string
			if err := rows.Scan(&c, &typ); err != nil {
				t.Fatal(err)
			}
			dataType[c] = typ
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		for _, col := range hftdata.Tables[table] {
			pgType, ok := dataType[col]
			if !ok {
				t.Errorf("%s.%s: not a column of the migrated database", table, col)
				continue
			}
			want, ok := supersetType[pgType]
			if !ok {
				t.Errorf("%s.%s: PostgreSQL type %q has no Superset type here", table, col, pgType)
				continue
			}
			if got := ColumnType(col); got != want {
				t.Errorf("%s.%s is %s in the database: ColumnType gives %q, want %q", table, col, pgType, got, want)
			}
		}
	}
}
