import streamlit as st

st.title("size_regulariser")
