package assist_test

import (
	"context"
	"fmt"

	"github.com/quarryhq/quarry/assist"
)

func Example() {
	svc, err := assist.New(assist.Config{Provider: assist.Extractive{}})
	if err != nil {
		panic(err)
	}
	text := "The waggle dance tells bees where food is. " +
		"The angle of the run gives the direction. " +
		"The length of the run gives the distance to the food."
	res, err := svc.Do(context.Background(), assist.Task{
		Kind:     assist.Ask,
		Text:     text,
		Question: "How do bees know the distance?",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Output)
	for _, c := range res.Citations {
		fmt.Printf("[%d,%d) %q\n", c.Start, c.End, string([]rune(text)[c.Start:c.End]))
	}
	// Output:
	// The waggle dance tells bees where food is. The length of the run gives the distance to the food.
	// [0,42) "The waggle dance tells bees where food is."
	// [85,138) "The length of the run gives the distance to the food."
}
