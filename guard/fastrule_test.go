package guard

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// fastCompileExpr compiles a condition exactly as CompilePack does.
func fastCompileExpr(src string) (*vm.Program, error) {
	return expr.Compile(src, expr.Env(Env{}), expr.AsBool(), expr.MaxNodes(2000))
}

// fastFields lists the dotted feature names of Env by Go kind.
var fastFields = func() map[reflect.Kind][]string {
	m := map[reflect.Kind][]string{}
	for i := 0; i < envType.NumField(); i++ {
		f := envType.Field(i)
		for j := 0; j < f.Type.NumField(); j++ {
			g := f.Type.Field(j)
			k := g.Type.Kind()
			m[k] = append(m[k], f.Tag.Get("expr")+"."+g.Tag.Get("expr"))
		}
	}
	return m
}()

var (
	fastIntPool = []int{0, 1, -1, 2, 3, 5, 7, 8, 100, 5000, -5000, math.MaxInt, math.MinInt,
		math.MaxInt - 1, math.MinInt + 1, 1<<53 + 1, 1 << 62, 60, 70, 24}
	fastFloatPool = []float64{0, math.Copysign(0, -1), 0.5, 3, 3.0000001, 5000, 4999.999, 1e6,
		math.NaN(), math.Inf(1), math.Inf(-1), 1e308, -1e308, 1<<53 + 2, -2.5, 0.1, 7, 20000, 5e-324}
	fastStringPool = []string{"", "transfer", "withdrawal", "60-69", "70+", "18-24", "unknown",
		"转账", "安全账户", "请转到安全账户", "公安局通知", "张三", "a", "A", "ab", "é", "CNY",
		"中文测试", "transfer ", "Transfer", "\x00", "zz", "账户"}
)

// fastBytes hands out fuzz bytes, then zeros.
type fastBytes struct {
	b []byte
	i int
}

func (r *fastBytes) byte() byte {
	if r.i >= len(r.b) {
		r.i++
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

func (r *fastBytes) n(n int) int { return int(r.byte()) % n }

func (r *fastBytes) done() bool { return r.i >= len(r.b)+64 }

// fastEnvFrom fills every feature of an Env from bytes: mostly values
// from pools of edge cases, sometimes raw ones.
func fastEnvFrom(r *fastBytes) Env {
	var env Env
	v := reflect.ValueOf(&env).Elem()
	for i := 0; i < v.NumField(); i++ {
		s := v.Field(i)
		for j := 0; j < s.NumField(); j++ {
			f := s.Field(j)
			c := r.byte()
			switch f.Kind() {
			case reflect.Bool:
				f.SetBool(c&1 == 1)
			case reflect.Int:
				if c < 200 {
					f.SetInt(int64(fastIntPool[int(c)%len(fastIntPool)]))
				} else {
					f.SetInt(int64(int8(r.byte())))
				}
			case reflect.Float64:
				if c < 200 {
					f.SetFloat(fastFloatPool[int(c)%len(fastFloatPool)])
				} else {
					f.SetFloat(float64(int8(r.byte())) / 4)
				}
			case reflect.String:
				f.SetString(fastStringPool[int(c)%len(fastStringPool)])
			}
		}
	}
	return env
}

// fastEnvs returns hand-made Envs plus pseudo-random ones.
func fastEnvs() []Env {
	var envs []Env
	envs = append(envs, Env{})

	var risky Env
	risky.Event = EventEnv{Type: "transfer", Amount: 5000, Currency: "CNY", Hour: 2, Night: true, Round: true,
		RoundLevel: 1000, Memo: "请转到安全账户", HasPayee: true, Channel: "app"}
	risky.Customer.Age, risky.Customer.AgeKnown, risky.Customer.AgeBand, risky.Customer.Elderly = 67, true, "60-69", true
	risky.Customer.OutCount1h, risky.Customer.Payees1h, risky.Customer.AmountToAvg = 5, 3, 3.5
	risky.Customer.NightRoundPayees7d, risky.Customer.HoursSinceDeviceChange = 3, 2.5
	risky.Customer.FlagTypology = "安全账户"
	risky.Payee = PayeeEnv{Account: "6222000011112222", Name: "张三", IsNew: true, SeenDays: 2, Payers24h: 9}
	risky.Memo.SafeAccount, risky.Memo.Any = true, true
	risky.Lists.BlockAccount, risky.Lists.AnyBlock = true, true
	envs = append(envs, risky)

	var benign Env
	benign.Event = EventEnv{Type: "payment", Amount: 35.5, Currency: "CNY", Hour: 14, Weekday: 3, Memo: "午饭"}
	benign.Customer.Age, benign.Customer.AgeKnown, benign.Customer.AgeBand = 30, true, "25-34"
	benign.Customer.TenureDays, benign.Customer.SeenDays, benign.Customer.OutAvg90d = 800, 700, 120
	benign.Customer.AmountToAvg, benign.Customer.HoursSinceDeviceChange = 0.3, Never
	benign.Payee = PayeeEnv{Account: "merchant", Name: "便利店", KnownDays: 300, SeenDays: 900, Payers24h: 120}
	envs = append(envs, benign)

	var edge Env
	edge.Event = EventEnv{Type: "转账", Amount: math.NaN(), Hour: math.MaxInt, Weekday: math.MinInt, Memo: "é",
		RoundLevel: -100}
	edge.Customer.Age, edge.Customer.AgeBand, edge.Customer.AmountToAvg = -1, "unknown", math.Inf(1)
	edge.Customer.OutCount1h, edge.Customer.Payees1h, edge.Customer.Payees24h = math.MaxInt, math.MinInt, math.MaxInt-1
	edge.Customer.OutSum1h, edge.Customer.TenureDays = math.Inf(-1), math.Copysign(0, -1)
	edge.Payee.SeenDays, edge.Payee.Payers24h = -7, 1<<53+1
	edge.Customer.HoursSinceDeviceChange = 1<<53 + 2
	envs = append(envs, edge)

	var old Env
	old.Event = EventEnv{Type: "withdrawal", Amount: 20000, Hour: 23, Round: true, RoundLevel: 10000, Weekend: true}
	old.Customer.Age, old.Customer.AgeBand, old.Customer.Elderly = 75, "70+", true
	old.Customer.OutCount1h, old.Customer.Payees1h, old.Customer.AmountToAvg = 4, 2, 3
	old.Payee = PayeeEnv{Name: "公安局通知", IsNew: true, SeenDays: 7, Payers24h: 8}
	old.Memo.Police, old.Memo.Any = true, true
	envs = append(envs, old)

	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 40; i++ {
		b := make([]byte, 400)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		envs = append(envs, fastEnvFrom(&fastBytes{b: b}))
	}
	return envs
}

// fastCheck compiles src, requires the fast path when want is set, and
// compares it with the VM on every env. It reports whether the fast path
// was taken.
func fastCheck(t testing.TB, src string, envs []Env, want bool) bool {
	t.Helper()
	prog, err := fastCompileExpr(src)
	if err != nil {
		if want {
			t.Fatalf("%s: expr does not compile: %v", src, err)
		}
		return false
	}
	fn, ok := compileFast(prog)
	if want && !ok {
		t.Errorf("%s: fast path refused", src)
		return false
	}
	if !ok {
		return false
	}
	for i := range envs {
		env := &envs[i]
		out, err := expr.Run(prog, env)
		if err != nil {
			t.Errorf("%s: the fast path was taken but the VM fails on env %d: %v", src, i, err)
			continue
		}
		got := fn(env)
		if got != out.(bool) {
			t.Errorf("%s: env %d: fast %v, VM %v\nenv: %+v", src, i, got, out, *env)
		}
	}
	return true
}

var fastTable = []string{
	// literals and fields
	`true`,
	`false`,
	`payee.is_new`,
	`!payee.is_new`,
	`not memo.police`,
	`!!event.night`,
	`!(event.night)`,
	`$env.payee.is_new`,
	`event?.night`,
	// comparisons: int, float, mixed
	`customer.out_count_1h >= 5`,
	`customer.out_count_1h > 4`,
	`customer.out_count_1h < 5`,
	`customer.out_count_1h <= 5`,
	`customer.out_count_1h == 5`,
	`customer.out_count_1h != 5`,
	`5 <= customer.out_count_1h`,
	`customer.out_count_1h >= 4.5`,
	`customer.out_count_1h == 5.0`,
	`4.5 < customer.out_count_1h`,
	`event.amount >= 5000`,
	`event.amount > 4999.999`,
	`event.amount == 5000`,
	`event.amount != 5000`,
	`5000 == event.amount`,
	`event.amount < customer.out_count_1h`,
	`customer.out_count_1h < event.amount`,
	`customer.out_count_1h >= customer.payees_1h`,
	`customer.amount_to_avg >= customer.amount_to_max`,
	`customer.amount_to_avg == customer.amount_to_avg`,
	`customer.amount_to_avg != customer.amount_to_avg`,
	`payee.payers_24h == 9007199254740993`,
	`payee.payers_24h == 9007199254740992.0`,
	`customer.hours_since_device_change == 9007199254740993`,
	`customer.hours_since_device_change > 1e6`,
	// negative numbers
	`customer.age == -1`,
	`customer.age > -1`,
	`-customer.age < 0`,
	`payee.seen_days < -6.5`,
	`-event.amount <= -5000`,
	`- -customer.age == customer.age`,
	`+customer.age == customer.age`,
	// arithmetic
	`customer.out_count_1h + customer.payees_1h >= 8`,
	`customer.out_count_1h - customer.payees_1h > 0`,
	`customer.out_count_1h * 2 > 9`,
	`customer.out_count_1h * customer.payees_1h < 0`,
	`customer.out_count_1h + 1 > customer.out_count_1h`,
	`customer.out_count_1h * 3 / 2 > 7`,
	`customer.out_count_1h / customer.payees_1h >= 1.5`,
	`customer.out_count_1h / 0 > 0`,
	`event.amount / 0 > 0`,
	`event.amount / customer.out_sum_1h < 1`,
	`event.amount + customer.out_count_1h > 5004`,
	`event.amount - 0.5 * customer.amount_to_avg > 4998`,
	`customer.out_count_1h % 3 == 2`,
	`customer.age % -7 < 0`,
	`event.hour % 24 >= 0`,
	`event.amount ** 2 > 1e7`,
	`customer.out_count_1h ^ 2 >= 25`,
	`2 ** customer.payees_1h == 8`,
	`(customer.out_count_1h + customer.payees_1h) * (customer.out_count_1h - customer.payees_1h) > 10`,
	`((((event.amount)))) >= (5000)`,
	`((customer.out_count_1h >= 5) && ((customer.payees_1h >= 3)))`,
	// booleans
	`payee.is_new && event.amount >= 5000 && customer.amount_to_avg > 3`,
	`customer.out_count_1h >= 5 && customer.payees_1h >= 3`,
	`event.night && event.round && customer.night_round_payees_7d >= 3`,
	`memo.safe_account || memo.police`,
	`memo.safe_account or memo.police or memo.refund or memo.rebate or memo.investment`,
	`event.night and event.round and event.weekend and payee.is_new and customer.elderly`,
	`(payee.is_new || customer.elderly) && !(memo.any && lists.any_allow)`,
	`payee.is_new == customer.elderly`,
	`payee.is_new != event.night`,
	`payee.is_new == true`,
	`false || payee.is_new`,
	`payee.is_new && true`,
	`payee.is_new || customer.out_count_1h % 2 == 1 && event.amount > 0`,
	// strings (Chinese included)
	`event.type == "transfer"`,
	`event.type != "transfer"`,
	`event.type == "转账"`,
	`"转账" == event.type`,
	`event.type < "transfer"`,
	`event.type >= "转"`,
	`customer.age_band > "60-69"`,
	`payee.name < "张"`,
	`event.memo_text > payee.name`,
	`event.type + "x" == "transferx"`,
	`event.memo_text contains "安全账户"`,
	`event.memo_text startsWith "请"`,
	`payee.name endsWith "通知"`,
	`payee.name contains event.memo_text`,
	`event.memo_text startsWith customer.flag_typology`,
	`event.memo_text endsWith ""`,
	`event.memo_text matches "安全|公安"`,
	`event.type matches "^(?i)TRANSFER$"`,
	`payee.account matches "^6222[0-9]+$"`,
	`len(event.memo_text) > 3`,
	`len(payee.name) == 2`,
	`len(event.type) + len(payee.name) >= 8`,
	// in
	`customer.age_band in ["60-69", "70+"] && payee.is_new`,
	`customer.age_band in ["60-69", "70+"]`,
	`customer.age_band not in ["60-69", "70+"]`,
	`event.type in ["转账", "transfer", "withdrawal", "payment", "a", "b", "c", "d", "e", "f"]`,
	`event.type in ["transfer"]`,
	`customer.age in [60, 65, 70, 75]`,
	`customer.age not in [-1, 0]`,
	`customer.age in [67, 75.0]`,
	`event.amount in [5000, 20000]`,
	`event.amount in [35.5, 1e6, -1]`,
	`event.hour in [2, 23]`,
	`payee.is_new in [true]`,
	`payee.is_new in [false]`,
	`payee.is_new in [true, false]`,
	`event.type in []`,
	`customer.age in []`,
	`event.type in ["transfer", 1, true]`,
	`customer.age in ["x", 67, 75.5, false]`,
	// ternary
	`payee.is_new ? event.amount >= 5000 : event.amount >= 50000`,
	`(customer.elderly ? 1 : 3) <= customer.payees_1h`,
	`(customer.elderly ? 1.5 : 3.5) <= customer.payees_1h`,
	`(event.night ? "n" : "d") == "n"`,
	`event.night ? payee.is_new ? true : customer.elderly : false`,
	`(payee.is_new ? payee.name : event.type) contains "张"`,
	// builtins
	`abs(customer.age) > 60`,
	`abs(customer.out_count_1h - customer.payees_1h) >= 2`,
	`abs(event.amount - 5000) < 0.01`,
	`abs(payee.seen_days) == 7`,
	`min(customer.out_count_1h, customer.payees_1h) >= 3`,
	`max(customer.out_count_1h, customer.payees_1h, payee.payers_24h) > 8`,
	`min(event.amount, customer.out_sum_1h) > 100`,
	`max(event.amount, customer.amount_to_avg, 3.5) > 3`,
	`max(customer.amount_to_avg, 0.0) > 3`,
	`max(0.0, customer.amount_to_avg) > 3`,
	`min(customer.age) < 0`,
	`min(customer.age, 0, -1) == -1`,
	// overflow
	`customer.out_count_1h + 1 < customer.out_count_1h`,
	`customer.out_count_1h * 2 < 0`,
	`-customer.payees_1h == customer.payees_1h`,
	`abs(customer.payees_1h) < 0`,
	`customer.out_count_1h + 1 > 9.2e18`,
	`customer.payees_1h % -1 == 0`,
	// numbers whose type is only known at run time
	`customer.out_sum_1h >= 10 * max(customer.out_avg_90d, 100)`,
	`max(customer.age, 2.5) > 2`,
	`min(1.5, customer.age) > 1`,
	`(payee.is_new ? 1 : 2.5) > 2`,
	`(payee.is_new ? 1 : 2.5) == 1`,
	`max(customer.age, 2.5) == 3.0`,
	`max(event.amount, 100) + customer.out_count_1h > 200`,
	`max(100, customer.out_count_1h, event.amount) * 2 < 0`,
	`max(100, customer.out_count_1h, event.amount) - 1 > 100`,
	`-max(customer.age, 0.5) < 0`,
	`abs(min(customer.age, -0.5)) >= 1`,
	`(customer.elderly ? customer.age : event.amount) >= 60`,
	`(customer.elderly ? customer.age : event.amount) + 1 > customer.out_count_1h`,
	`(customer.elderly ? customer.age : event.amount) != event.amount`,
	`max(customer.age, 2.5) / 2 > 1`,
	`max(customer.age, 2.5) ** 2 > 1`,
	`min(max(customer.age, 0.5), customer.out_count_1h) > 3`,
	`max(customer.out_count_1h, customer.amount_to_avg) >= max(customer.payees_1h, 3.5)`,
	`min(event.amount, customer.payees_1h) < 0`,
	`(event.night ? max(customer.age, 0.5) : 7) < 10`,
	`max(customer.payees_24h, customer.out_count_1h, 0.5) - customer.out_count_1h < 0`,
	`min(customer.out_count_1h, customer.payees_24h, 1e300) - customer.payees_24h > 0`,
	// NaN and signed zeros
	`max(event.amount, 0.0) >= 0`,
	`max(0.0, event.amount) >= 0`,
	`min(event.amount, 0.0, customer.amount_to_avg) <= 0`,
	`1 / abs(customer.tenure_days) > 0`,
	`1 / -customer.tenure_days > 0`,
	`1 / customer.tenure_days < 0`,
	`event.amount != event.amount || event.amount < 0`,
	`event.amount in [5000, 20000] || !(event.amount in [5000, 20000])`,
}

func TestFastRuleTable(t *testing.T) {
	if len(fastTable) < 80 {
		t.Fatalf("only %d cases", len(fastTable))
	}
	envs := fastEnvs()
	for _, src := range fastTable {
		fastCheck(t, src, envs, true)
	}
}

// fastRefused compile in expr but must stay on the VM.
var fastRefused = []string{
	`customer.out_count_1h % customer.payees_1h == 0`, // a zero divisor fails at run time
	`customer.out_count_1h % 0 == 0`,
	// The checker types these == operands int while the value may be a
	// float: the VM uses OpEqualInt and fails.
	`max(customer.age, 2.5) == 3`,
	`max(customer.age, 2.5) != customer.payees_1h`,
	`max(100, event.amount) + 1 == 101`,
	`abs(min(customer.age, 0.5)) == 1`,
	`max(100, event.amount) % 3 == 1`,
	`max(customer.age, 2.5) in [1, 2]`,
	`event.amount in 1..5`,
	`customer.age in [customer.payees_1h, 3]`,
	`event.type in [payee.name]`,
	`event.memo_text matches payee.name`,
	`any([1, 2], # > customer.age)`,
	`let x = customer.age; x > 3`,
	`upper(event.type) == "TRANSFER"`,
	`(event.type ?? "x") == "x"`,
	`"type" in event`,
	`int(event.amount) > 3`,
	`float(customer.age) > 3`,
	`event.type[0:1] == "t"`,
	`len([1, 2]) == 2`,
	`string(customer.age) == "3"`,
	`event == event`,
}

func TestFastRuleRefused(t *testing.T) {
	for _, src := range fastRefused {
		prog, err := fastCompileExpr(src)
		if err != nil {
			t.Errorf("%s: expr does not compile: %v", src, err)
			continue
		}
		if _, ok := compileFast(prog); ok {
			t.Errorf("%s: fast path accepted", src)
		}
	}
	if _, ok := compileFast(nil); ok {
		t.Error("nil program accepted")
	}
	// A program checked against another env must not be read as an Env.
	prog, err := expr.Compile(`x > 1`, expr.Env(map[string]int{"x": 1}), expr.AsBool())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := compileFast(prog); ok {
		t.Error("program over a map env accepted")
	}
}

// TestFastRulePacks runs every rule of the shipped packs through both paths.
func TestFastRulePacks(t *testing.T) {
	files, _ := filepath.Glob("packs/*.yaml")
	envs := fastEnvs()
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParsePack(src)
		if err != nil {
			t.Logf("%s: %v (skipped)", name, err)
			continue
		}
		for _, r := range p.Rules {
			if !fastCheck(t, r.When, envs, false) {
				t.Logf("%s: rule %s stays on the VM: %s", name, r.ID, r.When)
			}
		}
	}
}

func TestFastRuleNoAlloc(t *testing.T) {
	envs := fastEnvs()
	for _, src := range fastBenchRules {
		prog, err := fastCompileExpr(src)
		if err != nil {
			t.Fatal(err)
		}
		fn, ok := compileFast(prog)
		if !ok {
			t.Fatalf("%s: fast path refused", src)
		}
		if n := testing.AllocsPerRun(100, func() {
			for i := range envs {
				fn(&envs[i])
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations per run", src, n)
		}
	}
}

// fastGen writes a random, mostly well-typed expression over real Env
// features from fuzz bytes.
type fastGen struct {
	r *fastBytes
	b strings.Builder
}

func (g *fastGen) w(s ...string) {
	for _, x := range s {
		g.b.WriteString(x)
	}
}

func (g *fastGen) field(k reflect.Kind) {
	fs := fastFields[k]
	g.w(fs[g.r.n(len(fs))])
}

var (
	fastGenPatterns = []string{`^6`, `账户$`, `安全|公安`, `^[a-z]+$`, `.*`, `(?i)TRANSFER`, `^$`, `\\d+`, `^.{2}$`}
	fastGenCmp      = []string{"==", "!=", "<", "<=", ">", ">="}
	fastGenArith    = []string{"+", "-", "*", "/", "**", "^"}
)

func (g *fastGen) intLit() {
	v := fastIntPool[g.r.n(len(fastIntPool))]
	if v == math.MinInt {
		v = math.MinInt + 1 // -9223372036854775808 does not parse
	}
	g.w(strconv.Itoa(v))
}

func (g *fastGen) floatLit() {
	lits := []string{"0.0", "0.5", "-0.5", "3.0", "1e6", "5000.0", "1e308", "9007199254740993.0", "0.1", "-2.5", "4999.999"}
	g.w(lits[g.r.n(len(lits))])
}

func (g *fastGen) strLit() {
	g.w(strconv.Quote(fastStringPool[g.r.n(len(fastStringPool))]))
}

func (g *fastGen) boolExpr(d int) {
	if d <= 0 || g.r.done() {
		switch g.r.n(3) {
		case 0:
			g.field(reflect.Bool)
		case 1:
			g.w([]string{"true", "false"}[g.r.n(2)])
		default:
			g.field(reflect.Int)
			g.w(" ", fastGenCmp[g.r.n(6)], " ")
			g.intLit()
		}
		return
	}
	switch g.r.n(16) {
	case 0:
		g.field(reflect.Bool)
	case 1:
		g.w([]string{"!", "not "}[g.r.n(2)])
		g.boolExpr(d - 1)
	case 2, 3:
		g.w("(")
		g.boolExpr(d - 1)
		g.w([]string{" && ", " || ", " and ", " or "}[g.r.n(4)])
		g.boolExpr(d - 1)
		g.w(")")
	case 4, 5:
		g.numExpr(d - 1)
		g.w(" ", fastGenCmp[g.r.n(6)], " ")
		g.numExpr(d - 1)
	case 6:
		g.strExpr(d - 1)
		g.w(" ", fastGenCmp[g.r.n(6)], " ")
		g.strExpr(d - 1)
	case 7:
		g.boolExpr(d - 1)
		g.w([]string{" == ", " != "}[g.r.n(2)])
		g.boolExpr(d - 1)
	case 8:
		g.strExpr(d - 1)
		g.w([]string{" in [", " not in ["}[g.r.n(2)])
		for i, n := 0, g.r.n(12); i < n; i++ {
			if i > 0 {
				g.w(", ")
			}
			if g.r.n(8) == 0 {
				g.intLit()
			} else {
				g.strLit()
			}
		}
		g.w("]")
	case 9:
		g.numExpr(d - 1)
		g.w([]string{" in [", " not in ["}[g.r.n(2)])
		for i, n := 0, g.r.n(6); i < n; i++ {
			if i > 0 {
				g.w(", ")
			}
			switch g.r.n(8) {
			case 0:
				g.floatLit()
			case 1:
				g.strLit()
			case 2:
				g.w("-")
				g.intLit()
			default:
				g.intLit()
			}
		}
		g.w("]")
	case 10:
		g.strExpr(d - 1)
		g.w(" ", []string{"contains", "startsWith", "endsWith"}[g.r.n(3)], " ")
		g.strExpr(d - 1)
	case 11:
		g.strExpr(d - 1)
		g.w(" matches ", strconv.Quote(fastGenPatterns[g.r.n(len(fastGenPatterns))]))
	case 12:
		g.w("(")
		g.boolExpr(d - 1)
		g.w(" ? ")
		g.boolExpr(d - 1)
		g.w(" : ")
		g.boolExpr(d - 1)
		g.w(")")
	case 13:
		g.w("(")
		g.boolExpr(d - 1)
		g.w(")")
	case 14:
		g.field(reflect.Bool)
		g.w(" in [", []string{"true", "false", "true, false", ""}[g.r.n(4)], "]")
	default:
		g.field([]reflect.Kind{reflect.Int, reflect.Float64}[g.r.n(2)])
		g.w(" ", fastGenCmp[g.r.n(6)], " ")
		g.numExpr(d - 1)
	}
}

func (g *fastGen) numExpr(d int) {
	if d <= 0 || g.r.done() {
		switch g.r.n(4) {
		case 0:
			g.field(reflect.Int)
		case 1:
			g.field(reflect.Float64)
		case 2:
			g.intLit()
		default:
			g.floatLit()
		}
		return
	}
	switch g.r.n(14) {
	case 0, 1:
		g.field(reflect.Int)
	case 2, 3:
		g.field(reflect.Float64)
	case 4:
		g.intLit()
	case 5:
		g.floatLit()
	case 6:
		switch g.r.n(3) {
		case 0:
			g.w("-")
			g.numExpr(d - 1)
		case 1:
			g.w("+")
			g.numExpr(d - 1)
		default:
			g.w("-(")
			g.numExpr(d - 1)
			g.w(")")
		}
	case 7, 8:
		g.w("(")
		g.numExpr(d - 1)
		g.w(" ", fastGenArith[g.r.n(len(fastGenArith))], " ")
		g.numExpr(d - 1)
		g.w(")")
	case 9:
		g.w("(")
		g.numExpr(d - 1)
		g.w(" % ")
		switch g.r.n(4) {
		case 0:
			g.field(reflect.Int)
		case 1:
			g.w("0")
		default:
			g.intLit()
		}
		g.w(")")
	case 10:
		fn := []string{"abs", "min", "max"}[g.r.n(3)]
		g.w(fn, "(")
		g.numExpr(d - 1)
		if fn != "abs" {
			for i, n := 0, g.r.n(3); i < n; i++ {
				g.w(", ")
				g.numExpr(d - 1)
			}
		}
		g.w(")")
	case 11:
		g.w("len(")
		g.strExpr(d - 1)
		g.w(")")
	case 12:
		g.w("(")
		g.boolExpr(d - 1)
		g.w(" ? ")
		g.numExpr(d - 1)
		g.w(" : ")
		g.numExpr(d - 1)
		g.w(")")
	default:
		g.w("(")
		g.numExpr(d - 1)
		g.w(")")
	}
}

func (g *fastGen) strExpr(d int) {
	if d <= 0 || g.r.done() {
		if g.r.n(2) == 0 {
			g.field(reflect.String)
		} else {
			g.strLit()
		}
		return
	}
	switch g.r.n(6) {
	case 0, 1:
		g.field(reflect.String)
	case 2:
		g.strLit()
	case 3:
		g.w("(")
		g.strExpr(d - 1)
		g.w(" + ")
		g.strExpr(d - 1)
		g.w(")")
	case 4:
		g.w("(")
		g.boolExpr(d - 1)
		g.w(" ? ")
		g.strExpr(d - 1)
		g.w(" : ")
		g.strExpr(d - 1)
		g.w(")")
	default:
		g.w("(")
		g.strExpr(d - 1)
		g.w(")")
	}
}

// fastFuzzEnvs are fixed Envs every fuzzed expression also runs on.
var fastFuzzEnvs = fastEnvs()[:8]

func FuzzFastRule(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("payee.is_new && event.amount >= 5000"))
	f.Add([]byte{2, 4, 3, 7, 1, 5, 200, 9, 9, 9, 9, 9, 4, 4, 4, 4})
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 64; i++ {
		b := make([]byte, 20+rng.IntN(400))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	// Inputs starting with '#' are expression text, the rest grammar input.
	for _, src := range fastTable {
		f.Add([]byte("#" + src))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fastBytes{b: data}
		var src string
		if len(data) > 0 && data[0] == '#' {
			src = string(data[1:])
			r.b = nil
		} else {
			g := &fastGen{r: r}
			g.boolExpr(1 + r.n(5))
			src = g.b.String()
		}
		env := fastEnvFrom(r)
		envs := append([]Env{env}, fastFuzzEnvs...)
		fastCheck(t, src, envs, false)
	})
}

// TestFastRuleGenerated runs the fuzz grammar on pseudo-random inputs as a
// plain test and checks that it exercises the fast path.
func TestFastRuleGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var compiled, fast int
	for i := 0; i < 20000; i++ {
		b := make([]byte, 20+rng.IntN(300))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		r := &fastBytes{b: b}
		g := &fastGen{r: r}
		g.boolExpr(1 + r.n(5))
		src := g.b.String()
		env := fastEnvFrom(r)
		if _, err := fastCompileExpr(src); err != nil {
			continue
		}
		compiled++
		if fastCheck(t, src, append([]Env{env}, fastFuzzEnvs[:3]...), false) {
			fast++
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("%d expressions compiled by expr, %d on the fast path", compiled, fast)
	if fast < compiled/2 {
		t.Errorf("only %d of %d on the fast path", fast, compiled)
	}
}

var fastBenchRules = []string{
	`payee.is_new && event.amount >= 5000 && customer.amount_to_avg > 3`,
	`customer.out_count_1h >= 5 && customer.payees_1h >= 3`,
	`event.night && event.round && customer.night_round_payees_7d >= 3`,
	`memo.safe_account || memo.police`,
	`customer.age_band in ["60-69", "70+"] && payee.is_new`,
	`event.type == "transfer" && payee.payers_24h >= 8 && payee.seen_days < 7`,
	`customer.elderly && payee.is_new && event.amount >= 20000`,
	`customer.hours_since_device_change < 24 && event.amount >= 3000 && payee.is_new`,
}

func fastBenchEnvs() []Env {
	envs := fastEnvs()[1:5] // risky, benign, edge, old
	return envs
}

// BenchmarkFastRule evaluates the eight representative rules on the fast
// path; one op is one rule on one Env.
func BenchmarkFastRule(b *testing.B) {
	envs := fastBenchEnvs()
	fns := make([]func(*Env) bool, len(fastBenchRules))
	for i, src := range fastBenchRules {
		prog, err := fastCompileExpr(src)
		if err != nil {
			b.Fatal(err)
		}
		fn, ok := compileFast(prog)
		if !ok {
			b.Fatalf("%s: fast path refused", src)
		}
		fns[i] = fn
	}
	b.Run("all8", func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			env := &envs[i&3]
			for _, fn := range fns {
				if fn(env) {
					n++
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(fns)), "ns/rule")
		fastSink = n
	})
	for i, fn := range fns {
		b.Run(fmt.Sprintf("r%d", i), func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				if fn(&envs[i&3]) {
					n++
				}
			}
			fastSink = n
		})
	}
}

// BenchmarkFastRuleVM is the same on expr's VM, reused like Engine does.
func BenchmarkFastRuleVM(b *testing.B) {
	envs := fastBenchEnvs()
	progs := make([]*vm.Program, len(fastBenchRules))
	for i, src := range fastBenchRules {
		prog, err := fastCompileExpr(src)
		if err != nil {
			b.Fatal(err)
		}
		progs[i] = prog
	}
	var m vm.VM
	b.Run("all8", func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			env := &envs[i&3]
			for _, p := range progs {
				out, err := m.Run(p, env)
				if err != nil {
					b.Fatal(err)
				}
				if out.(bool) {
					n++
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(progs)), "ns/rule")
		fastSink = n
	})
	for i, p := range progs {
		b.Run(fmt.Sprintf("r%d", i), func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				out, err := m.Run(p, &envs[i&3])
				if err != nil {
					b.Fatal(err)
				}
				if out.(bool) {
					n++
				}
			}
			fastSink = n
		})
	}
}

var fastSink int

// BenchmarkFastRuleAccessor compares the two ways of reading a feature:
// an offset read through unsafe (what compileFast does) and a typed
// accessor closure from a hand-written table (the unsafe-free option).
func BenchmarkFastRuleAccessor(b *testing.B) {
	envs := fastBenchEnvs()
	typed := map[string]func(*Env) float64{
		"event.amount":           func(e *Env) float64 { return e.Event.Amount },
		"customer.amount_to_avg": func(e *Env) float64 { return e.Customer.AmountToAvg },
	}
	typedBool := map[string]func(*Env) bool{
		"payee.is_new": func(e *Env) bool { return e.Payee.IsNew },
	}
	amount, avg, isNew := typed["event.amount"], typed["customer.amount_to_avg"], typedBool["payee.is_new"]
	cmpT := func(g func(*Env) float64, c float64) func(*Env) bool { return func(e *Env) bool { return g(e) >= c } }
	ruleTyped := func() func(*Env) bool {
		a, b, c := isNew, cmpT(amount, 5000), cmpT(avg, 3)
		return func(e *Env) bool { return a(e) && b(e) && c(e) }
	}()
	prog, err := fastCompileExpr(`payee.is_new && event.amount >= 5000 && customer.amount_to_avg >= 3`)
	if err != nil {
		b.Fatal(err)
	}
	ruleUnsafe, ok := compileFast(prog)
	if !ok {
		b.Fatal("refused")
	}
	for _, c := range []struct {
		name string
		fn   func(*Env) bool
	}{{"unsafe", ruleUnsafe}, {"typed", ruleTyped}} {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				if c.fn(&envs[i&3]) {
					n++
				}
			}
			fastSink = n
		})
	}
}

// BenchmarkFastRulePack evaluates every rule of packs/builtin.yaml on one
// Env per op, on the fast path (falling back to the VM where refused) and on
// the VM alone.
func BenchmarkFastRulePack(b *testing.B) {
	src, err := os.ReadFile("packs/builtin.yaml")
	if err != nil {
		b.Skip(err)
	}
	p, err := ParsePack(src)
	if err != nil {
		b.Skip(err)
	}
	envs := fastBenchEnvs()
	fns := make([]func(*Env) bool, len(p.Rules))
	refused := 0
	for i, r := range p.Rules {
		prog, err := fastCompileExpr(r.When)
		if err != nil {
			b.Fatal(err)
		}
		if fns[i], _ = compileFast(prog); fns[i] == nil {
			refused++
		}
	}
	progs := make([]*vm.Program, len(p.Rules))
	for i, r := range p.Rules {
		progs[i], _ = fastCompileExpr(r.When)
	}
	var m vm.VM
	b.Run("fast", func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			env := &envs[i&3]
			for j, fn := range fns {
				if fn != nil {
					if fn(env) {
						n++
					}
				} else if out, _ := m.Run(progs[j], env); out == true {
					n++
				}
			}
		}
		b.ReportMetric(float64(len(fns)), "rules")
		b.ReportMetric(float64(refused), "on_vm")
		fastSink = n
	})
	b.Run("vm", func(b *testing.B) {
		n := 0
		for i := 0; i < b.N; i++ {
			env := &envs[i&3]
			for _, p := range progs {
				if out, _ := m.Run(p, env); out == true {
					n++
				}
			}
		}
		b.ReportMetric(float64(len(progs)), "rules")
		fastSink = n
	})
}
