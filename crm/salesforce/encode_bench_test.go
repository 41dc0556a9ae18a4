package salesforce

import (
	"fmt"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
)

// BenchmarkActivityEncode is the per-call cost of a Task in a
// /composite/sobjects upsert (`go test -bench ActivityEncode ./crm/salesforce`).
func BenchmarkActivityEncode(b *testing.B) {
	start := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	a := crm.Activity{
		Key: "bench/call/0f6b2c1e", Kind: crm.KindCall, EnreachID: "0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f",
		Number: "+358401234567", DialledNumber: "+358201234567", Direction: crm.Inbound,
		Subject: "Incoming queue call", Description: "CallId is 0f6b2c1e\nIncoming queue call, answered\nCustomer: +358401234567",
		Start: start, End: start.Add(3 * time.Minute), Duration: 3 * time.Minute, Answered: true,
		OwnerID:   "005000000000001AAA",
		Regarding: &crm.Ref{Entity: crm.Contact, ID: "003000000000001AAA"},
		Related:   []crm.Ref{{Entity: crm.Account, ID: "001000000000001AAA"}},
		Audit:     `{"CallId":"0f6b2c1e-9f7a-4f6e-8d52-1b2a3c4d5e6f","ANum":"+358401234567","BNum":"+358201234567"}`,
	}
	names := fieldNames{external: "Enreach_Call_Id__c", number: "Enreach_Number__c", start: "Enreach_Call_Start__c", audit: "Enreach_Audit__c"}
	ad := adaptation{custom: true, auditLen: 32000}
	var m jsonw.Object
	b.ReportAllocs()
	for b.Loop() {
		if len(taskFields(&m, a, names, ad, true)) == 0 {
			b.Fatal("empty record")
		}
	}
}

// BenchmarkINLists is the quoting of a window's numbers into SOQL IN lists
// as findByCustom builds them (1,000 numbers; `go test -bench INLists
// ./crm/salesforce`).
func BenchmarkINLists(b *testing.B) {
	numbers := make([]string, 1000)
	for i := range numbers {
		numbers[i] = fmt.Sprintf("+35840%07d", i*7919)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, ch := range chunkIN(numbers, 200) {
			_ = inList(ch)
		}
	}
}
