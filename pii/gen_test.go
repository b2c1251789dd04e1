package pii

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Test data is built here rather than copied from the code under test: the
// check characters are computed with the textbook formulas (weights as
// powers of 2 mod 11 and 3 mod 31, Luhn by doubling), independently of the
// tables the scanner uses.

// idWithCheck completes a 17-digit resident ID prefix with its check
// character (GB 11643-1999: W_i = 2^(17-i) mod 11, C = (12 - S mod 11) mod 11).
func idWithCheck(p17 string) string {
	s, w := 0, 1
	for i := 16; i >= 0; i-- {
		w = w * 2 % 11
		s += int(p17[i]-'0') * w
	}
	c := (12 - s%11) % 11
	if c == 10 {
		return p17 + "X"
	}
	return p17 + strconv.Itoa(c)
}

// idWrongCheck returns the ID with a check character that is not the right
// one and that does not make the number Luhn-valid either, so the result is
// nothing at all rather than a card.
func idWrongCheck(p17 string) string {
	good := idWithCheck(p17)[17]
	for _, c := range "0123456789" {
		if byte(c) != good && luhnSum(p17+string(c))%10 != 0 {
			return p17 + string(c)
		}
	}
	return ""
}

func luhnSum(d string) int {
	sum := 0
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (len(d)-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum
}

// cardWithCheck completes a card prefix with its Luhn digit.
func cardWithCheck(prefix string) string {
	for c := '0'; c <= '9'; c++ {
		if luhnSum(prefix+string(c))%10 == 0 {
			return prefix + string(c)
		}
	}
	panic("unreachable")
}

// cardWrongCheck extends a digit string by one digit that fails Luhn.
func cardWrongCheck(prefix string) string {
	good := cardWithCheck(prefix)
	c := good[len(good)-1]
	return prefix + string('0'+(c-'0'+1)%10)
}

// usccWithCheck completes a 17-character USCC prefix (weights 3^i mod 31).
func usccWithCheck(p17 string) string {
	const alpha = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	s, w := 0, 1
	for i := 0; i < 17; i++ {
		s += strings.IndexByte(alpha, p17[i]) * w
		w = w * 3 % 31
	}
	return p17 + string(alpha[(31-s%31)%31])
}

func group4(d, sep string) string {
	var b strings.Builder
	for i := 0; i < len(d); i += 4 {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(d[i:min(i+4, len(d))])
	}
	return b.String()
}

// corpus generator ---------------------------------------------------------

type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + g.r.IntN(10))
	}
	return string(b)
}

var regions = []string{"110105", "310104", "440305", "330106", "510107", "420102", "320102", "370202", "500103", "610113"}

func (g *gen) id() string {
	y := 1950 + g.r.IntN(56)
	m := 1 + g.r.IntN(12)
	d := 1 + g.r.IntN(28)
	p := g.pick(regions) + strconv.Itoa(y) + pad2(m) + pad2(d) + g.digits(3)
	return idWithCheck(p)
}

func pad2(v int) string {
	if v < 10 {
		return "0" + strconv.Itoa(v)
	}
	return strconv.Itoa(v)
}

func (g *gen) mobile() string {
	return "1" + string(byte('3'+g.r.IntN(7))) + g.digits(9)
}

func (g *gen) card() string {
	bins := []string{"622202", "621700", "622848", "436742", "518710", "625807"}
	n := 16
	if g.r.IntN(3) == 0 {
		n = 19
	}
	c := cardWithCheck(g.pick(bins) + g.digits(n-7))
	if g.r.IntN(3) == 0 {
		return group4(c, " ")
	}
	return c
}

var (
	givenChars = []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红文斌宇浩凯鹏辉")
	surnameGen = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾")
	provinces  = []string{"广东省深圳市南山区", "北京市朝阳区", "上海市浦东新区", "浙江省杭州市西湖区", "四川省成都市武侯区", "江苏省南京市鼓楼区"}
	roads      = []string{"科技园路", "建国路", "世纪大道", "文三路", "人民南路", "中山北路", "学府路", "长安街"}
	domains    = []string{"qq.com", "163.com", "gmail.com", "example.com.cn", "xiaobao.cn"}
	plateProv  = []rune("京沪粤浙苏川鄂湘")
)

func (g *gen) name() string {
	s := string(surnameGen[g.r.IntN(len(surnameGen))])
	for k := 1 + g.r.IntN(2); k > 0; k-- {
		s += string(givenChars[g.r.IntN(len(givenChars))])
	}
	return s
}

func (g *gen) address() string {
	a := g.pick(provinces) + g.pick(roads) + strconv.Itoa(1+g.r.IntN(300)) + "号"
	if g.r.IntN(2) == 0 {
		a += strconv.Itoa(1+g.r.IntN(20)) + "栋" + strconv.Itoa(1+g.r.IntN(4)) + "单元" + strconv.Itoa(101+g.r.IntN(2000)) + "室"
	}
	return a
}

func (g *gen) email() string {
	locals := []string{"zhangwei", "li.na", "wang_fang88", "chen.jie", "user2024", "service"}
	return g.pick(locals) + strconv.Itoa(g.r.IntN(1000)) + "@" + g.pick(domains)
}

func (g *gen) ip() string {
	if g.r.IntN(5) == 0 {
		return "2001:db8:" + strconv.FormatInt(int64(g.r.IntN(65536)), 16) + "::" + strconv.Itoa(1+g.r.IntN(99))
	}
	return strconv.Itoa(1+g.r.IntN(223)) + "." + strconv.Itoa(g.r.IntN(256)) + "." + strconv.Itoa(g.r.IntN(256)) + "." + strconv.Itoa(1+g.r.IntN(254))
}

func (g *gen) plate() string {
	letters := "ABCDEFGHJKLMNPQRSTUVWXYZ"
	return string(plateProv[g.r.IntN(len(plateProv))]) + string(letters[g.r.IntN(len(letters))]) + g.digits(5)
}

func (g *gen) uscc() string {
	return usccWithCheck("91" + g.pick(regions) + "MA" + g.digits(5) + "X" + g.digits(1))
}

func (g *gen) amount() string {
	switch g.r.IntN(3) {
	case 0:
		return strconv.Itoa(100*(1+g.r.IntN(500))) + ".00"
	case 1:
		return "￥" + strconv.Itoa(1+g.r.IntN(99)) + "," + g.digits(3) + "." + g.digits(2)
	}
	return strconv.Itoa(1 + g.r.IntN(50000))
}

// Sentences with no personal data but with the numbers that surround it in
// real traffic: amounts, order numbers, timestamps, versions, codes.
func (g *gen) filler() string {
	switch g.r.IntN(14) {
	case 0:
		return "您好，我想咨询一下我的借款为什么还没有到账，已经等了三天了。"
	case 1:
		return "客服回复说系统正在处理，请耐心等待，但是一直没有任何结果。"
	case 2:
		return "我对这个服务非常不满意，要求平台尽快给出解释并退还多收的费用" + g.amount() + "元。"
	case 3:
		return "上个月的账单金额不对，多扣了一笔手续费" + g.amount() + "，请帮忙核实。"
	case 4:
		return "订单号" + "2026" + g.digits(14) + "的退款还没有到账，"
	case 5:
		return "请问提前还款需要支付违约金吗？合同第" + strconv.Itoa(1+g.r.IntN(20)) + "条没有写清楚。"
	case 6:
		return "APP显示还款成功，时间2026-11-" + pad2(1+g.r.IntN(28)) + " " + pad2(g.r.IntN(24)) + ":" + pad2(g.r.IntN(60)) + ":" + pad2(g.r.IntN(60)) + "，但是银行那边没有扣款记录。"
	case 7:
		return "催收人员每天打电话骚扰我的家人和同事，严重影响了我的正常生活和工作。"
	case 8:
		return "利息计算方式和当初宣传的不一样，年化利率明显超过了" + strconv.Itoa(18+g.r.IntN(20)) + "%。"
	case 9:
		return "已按要求上传了所有材料，审核还是不通过，原因也不说明，版本号v" + strconv.Itoa(g.r.IntN(9)) + "." + strconv.Itoa(g.r.IntN(20)) + "." + strconv.Itoa(g.r.IntN(50)) + "。"
	case 10:
		return "转账备注：房租" + strconv.Itoa(2020+g.r.IntN(7)) + "年" + strconv.Itoa(1+g.r.IntN(12)) + "月 流水号" + g.digits(20) + " "
	case 11:
		return "验证码" + g.digits(6) + "请勿泄露，第" + strconv.Itoa(1+g.r.IntN(36)) + "期账单已出。"
	case 12:
		return "I have contacted customer service many times, but nobody has called me back yet. "
	}
	return "我知道了，谢谢，请尽快处理，我明天再来问一下进度。"
}

// pii returns a sentence with one piece of personal data in it.
func (g *gen) pii() string {
	switch g.r.IntN(12) {
	case 0:
		return "我的手机号是" + g.mobile() + "，麻烦尽快联系我。"
	case 1:
		return "身份证号码：" + g.id() + "。"
	case 2:
		return "还款卡号" + g.card() + "，"
	case 3:
		return "收货地址：" + g.address() + "，"
	case 4:
		return "联系人" + g.name() + "，"
	case 5:
		return "邮箱 " + g.email() + " "
	case 6:
		return "登录IP " + g.ip() + "，"
	case 7:
		return "车牌号" + g.plate() + "的车主，"
	case 8:
		return "公司统一社会信用代码" + g.uscc() + "，"
	case 9:
		return "办公电话0755-" + strconv.Itoa(2+g.r.IntN(8)) + g.digits(7) + "，"
	case 10:
		return g.name() + "先生您好，"
	}
	return "电话 +86 " + g.mobile()[:3] + " " + g.digits(4) + " " + g.digits(4) + "，"
}

// corpus returns at least size bytes of memo and complaint text. With pii
// set, about one sentence in three carries personal data, which comes to
// roughly one item per 200 bytes.
func corpus(seed uint64, size int, pii bool) string {
	s, _ := corpusN(seed, size, pii)
	return s
}

// corpusN also returns how many pieces of personal data it put in.
func corpusN(seed uint64, size int, pii bool) (string, int) {
	g := newGen(seed)
	var b strings.Builder
	b.Grow(size + 256)
	n := 0
	for b.Len() < size {
		if pii && g.r.IntN(3) == 0 {
			b.WriteString(g.pii())
			n++
		} else {
			b.WriteString(g.filler())
		}
	}
	return b.String(), n
}
