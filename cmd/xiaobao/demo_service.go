package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// demoChats stages the customer-service module: agents on duty, a guide,
// and a few simulated chats (an ordinary question, a scam in progress, an
// elderly customer, an angry one), each handed off and rated, so the
// sessions, queues and statistics endpoints have something to show.
func (c *demoClient) demoChats(ctx context.Context, stdout io.Writer) error {
	put := func(path, body string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.base+path, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.http.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			return fmt.Errorf("PUT %s: %s", path, resp.Status)
		}
		return nil
	}
	for _, a := range []struct{ id, body string }{
		{"agent-zhang", `{"name":"张伟","skills":["fraud","disputes"],"presence":"online","capacity":3}`},
		{"agent-li", `{"name":"李娜","skills":["general","repayment"],"presence":"online","capacity":4}`},
		{"agent-wang", `{"name":"王芳","skills":["elderly_care","general"],"presence":"online","capacity":2}`},
	} {
		if err := put("/v1/service/agents/"+a.id, a.body); err != nil {
			return err
		}
	}
	if err := put("/v1/service/guides/repay-early", `{"title":"如何提前还款","category":"repayment","faq_ids":["repay-early"],
		"steps":[{"title":"打开“我的借款”","body":"在 App 首页点击“我的借款”，选择要提前还的那笔。"},
		{"title":"选择“提前还款”","body":"确认应还本金与利息（按实际天数计息），选择还款卡。","action":"open:repay/early"},
		{"title":"确认并完成","body":"输入支付密码完成还款；结清后可在借款详情开具结清证明。"}]}`); err != nil {
		return err
	}
	chats := []struct {
		customer string
		lines    []string
		csat     int
		resolved bool
	}{
		{"demo-chat-1", []string{"可以提前还款吗？"}, 5, true},
		{"demo-chat-2", []string{"你好", "有个自称京东客服的打电话，说我大学时开了校园贷要注销，不然影响征信，让我下载一个会议软件共享屏幕"}, 4, true},
		{"demo-chat-3", []string{"我今年72岁了，不会用手机，这个月怎么还款"}, 5, true},
		{"demo-chat-4", []string{"你们乱扣费太过分了，再不处理我就打12378投诉"}, 2, false},
		{"demo-chat-5", []string{"还款的事", "都不是"}, 3, true},
	}
	type askResult struct {
		SessionID string `json:"session_id"`
		Turn      int    `json:"turn"`
		Answers   []struct {
			FAQID string `json:"faq_id"`
		} `json:"answers"`
		Warnings []struct {
			Kind string `json:"kind"`
		} `json:"warnings"`
		Route struct {
			Queue  string `json:"queue"`
			Reason string `json:"reason"`
		} `json:"route"`
	}
	fmt.Fprintln(stdout, "  simulated service chats (POST /v1/service/ask):")
	for _, ch := range chats {
		var last askResult
		for _, line := range ch.lines {
			body, _ := json.Marshal(map[string]string{"text": line, "customer_id": ch.customer, "channel": "app", "session_id": last.SessionID})
			if last.SessionID == "" {
				body, _ = json.Marshal(map[string]string{"text": line, "customer_id": ch.customer, "channel": "app"})
			}
			b, err := c.post(ctx, "/v1/service/ask", "application/json", body)
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, &last); err != nil {
				return err
			}
		}
		kinds := []string{}
		for _, w := range last.Warnings {
			kinds = append(kinds, w.Kind)
		}
		top := "-"
		if len(last.Answers) > 0 {
			top = last.Answers[0].FAQID
		}
		queue := last.Route.Queue
		if queue == "" {
			queue = "self-service"
			if ch.resolved && top != "-" {
				// The customer taps "this helped": a pending example for the
				// FAQ editors to accept (GET /v1/service/faq-examples).
				fb := fmt.Sprintf(`{"turn":%d,"faq_id":%q,"helpful":true}`, last.Turn, top)
				if _, err := c.post(ctx, "/v1/service/sessions/"+last.SessionID+"/feedback", "application/json", []byte(fb)); err != nil {
					return err
				}
			}
		} else if _, err := c.post(ctx, "/v1/service/sessions/"+last.SessionID+"/handoff", "application/json", []byte(`{}`)); err != nil {
			return err
		}
		closeBody := fmt.Sprintf(`{"resolved":%t}`, ch.resolved)
		if _, err := c.post(ctx, "/v1/service/sessions/"+last.SessionID+"/close", "application/json", []byte(closeBody)); err != nil {
			return err
		}
		if _, err := c.post(ctx, "/v1/service/sessions/"+last.SessionID+"/csat", "application/json", []byte(fmt.Sprintf(`{"score":%d}`, ch.csat))); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "    %s: answer %s, warnings %v, route %s\n", ch.customer, top, kinds, queue)
	}
	return nil
}
