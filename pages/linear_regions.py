import streamlit as st
st.title('linear_regions')
